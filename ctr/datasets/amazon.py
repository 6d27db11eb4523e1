"""Amazon 5-core review sequences (McAuley et al., SIGIR 2015) as DIN-style CTR samples.

Input (`file=`, e.g. Beauty.txt from the S3-Rec / ICLRec preprocessing): one line per user,
`user item_1 ... item_n`, items in chronological order. Per user, leave-last-out: position n is
the test target, n-1 the valid target, positions 2..n-2 train targets; each target's history is
every earlier item (the last `max_len` kept). Every positive row gets one negative row with the
same user and history and an item drawn (seeded) from the items the user never interacted with,
as in DIN (Zhou et al., KDD 2018). Fields: `user` (the gAUC user), `item` (target) and `hist`
(sequence) sharing the "item" embedding table, `hist_len` (numeric, stored history length).
"""

from __future__ import annotations

import numpy as np

from ctr.datasets.tabular import DataError, Vocab, find_file, where
from ctr.features import PAD_ID, FeatureSpec, Field

DEFAULTS = dict(file="", max_len=50, min_count=1, seed=0)
NEEDS_MANUAL_DIR = True


def read_sequences(path) -> list[tuple[str, list[int]]]:
    users = []
    with open(path) as f:
        for line, text in enumerate(f, 1):
            tokens = text.split()
            if not tokens:
                raise DataError(f"{where(path, line)}: empty line; expected `user item item ...`")
            try:
                items = [int(t) for t in tokens[1:]]
            except ValueError:
                raise DataError(f"{where(path, line)}: item ids must be integers") from None
            if len(items) < 3:
                raise DataError(
                    f"{where(path, line)}: user {tokens[0]} has {len(items)} items; leave-last-out "
                    "needs at least 3 (a history, a valid and a test target)"
                )
            users.append((tokens[0], items))
    if not users:
        raise DataError(f"{path}: no users; expected lines `user item item ...`")
    return users


def _negatives(user_R, flat_items, starts, lengths, all_items, rng) -> np.ndarray:
    """Per row an item its user never interacted with: uniform draws, rejected and redrawn."""
    num_items = int(all_items.max()) + 1
    seen = np.unique(np.repeat(np.arange(len(starts)), lengths) * num_items + flat_items)
    neg = rng.choice(all_items, size=len(user_R))
    bad = np.arange(len(user_R))
    for _ in range(1000):
        keys = user_R[bad] * num_items + neg[bad]
        pos = np.minimum(np.searchsorted(seen, keys), len(seen) - 1)
        bad = bad[seen[pos] == keys]
        if len(bad) == 0:
            return neg
        neg[bad] = rng.choice(all_items, size=len(bad))
    raise DataError(f"{len(bad)} rows found no unseen item to sample: users cover all items")


def build(manual_dir, **o):
    path = find_file(manual_dir, o["file"], tuple(sorted(p.name for p in manual_dir.glob("*.txt"))))
    users = read_sequences(path)
    names = np.asarray([u for u, _ in users])
    lengths = np.asarray([len(items) for _, items in users])
    flat = np.concatenate([np.asarray(items, np.int64) for _, items in users])
    starts = np.cumsum(lengths) - lengths
    all_items = np.unique(flat)
    # one row per target position t >= 1: the history is items[:t]
    user_R = np.repeat(np.arange(len(users)), lengths - 1)
    t_R = (
        np.arange(len(user_R)) - np.repeat(np.cumsum(lengths - 1) - (lengths - 1), lengths - 1) + 1
    )
    split_R = np.where(t_R == lengths[user_R] - 1, 2, np.where(t_R == lengths[user_R] - 2, 1, 0))
    rng = np.random.default_rng(o["seed"])
    neg_R = _negatives(user_R, flat, starts, lengths, all_items, rng)
    max_len = o["max_len"]
    lo_R = np.maximum(t_R - max_len, 0)
    j = np.arange(max_len)
    real_RxL = lo_R[:, None] + j < t_R[:, None]
    pos_RxL = np.where(real_RxL, starts[user_R, None] + lo_R[:, None] + j, 0)
    hist_RxL = np.where(real_RxL, flat[pos_RxL], -1)  # -1: padding before encoding
    target_R = flat[starts[user_R] + t_R]
    train = split_R == 0
    train_hist = hist_RxL[train]
    items = Vocab(
        np.concatenate([target_R[train], neg_R[train], train_hist[train_hist >= 0]]),
        o["min_count"],
    )
    item_lut = np.append(
        items.encode(np.arange(all_items.max() + 1)), np.int32(PAD_ID)
    )  # lut[-1]: PAD
    user_vocab = Vocab(names[user_R[train]], o["min_count"])
    user_lut = user_vocab.encode(names)
    splits = {}
    for k, split in enumerate(("train", "valid", "test")):
        rows = np.flatnonzero(split_R == k)
        both = np.repeat(rows, 2)  # each positive followed by its sampled negative
        hist = item_lut[hist_RxL[both]]
        splits[split] = {
            "user": user_lut[user_R[both]],
            "item": item_lut[np.stack([target_R[rows], neg_R[rows]], 1).ravel()],
            "hist": hist,
            "hist_len": (hist != PAD_ID).sum(1).astype(np.float32),
            "label": np.tile(np.asarray([1.0, 0.0], np.float32), len(rows)),
        }
    fields = (
        Field(name="user", kind="categorical", vocab_size=user_vocab.size),
        Field(name="item", kind="categorical", vocab_size=items.size, group="item"),
        Field(
            name="hist",
            kind="sequence",
            vocab_size=items.size,
            group="item",
            max_len=max_len,
            length_field="hist_len",
        ),
        Field(name="hist_len", kind="numeric"),
    )
    info = {"file": path.name, "users": len(users), "items": len(all_items)}
    return FeatureSpec(fields=fields, user_field="user"), splits, info
