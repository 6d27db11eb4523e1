"""Leave-last-out next-item data for retrieval, as S3-Rec (Zhou et al., CIKM 2020) and ICLRec
(Chen et al., WWW 2022) split it (salesforce/ICLRec src/datasets.py, src/utils.py).

Per user with items x_1..x_n (chronological):
    train: every prefix of x_1..x_{n-2} -> the next item   (targets x_2..x_{n-2})
    valid: history x_1..x_{n-2} -> x_{n-1}
    test:  history x_1..x_{n-1} -> x_n
Histories keep their last `max_len` items, left-aligned and PAD-padded. Each valid/test row also
carries its whole history (`seen`), the items ICLRec removes from the ranking.

The train split comes in two forms (ROW_FORMS), the one a model learns from:
    prefix    one row per prefix: history (its last max_len items) -> the next item;
    sequence  one row per user, as SASRec and ICLRec train (src/datasets.py, data_type
              "train"): the last max_len + 1 items of x_1..x_{n-2}; input = all but the last,
              target = all but the first (the next item at every position, PAD after).
A causal model's output at position t of a sequence row is its prediction for the prefix ending
there, so both forms hold the same (prefix, next item) pairs, except that in the sequence form
a prefix of a user with more than max_len + 1 train items starts where the row starts.

Item ids are relabelled 2 + rank by decreasing train-split frequency (ties by the file's id):
ids 0 (PAD) and 1 (OOV) are not items, as everywhere in ctr, and the log-uniform sampler of
ctr/layers/sampled_softmax.py assumes this order. Every item of the file is ranked, including
the few that never occur in a train split (ICLRec scores all of them too).
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from ctr.datasets.amazon import read_sequences
from ctr.features import PAD_ID
from ctr.layers.sampled_softmax import FIRST_ID


@dataclasses.dataclass(frozen=True)
class Split:
    hist_NxL: np.ndarray  # int32, left-aligned, PAD after the real items
    target_N: np.ndarray  # int32
    seen_NxM: np.ndarray  # int32, the whole history (PAD-padded): excluded from the ranking


ROW_FORMS = ("prefix", "sequence")


@dataclasses.dataclass(frozen=True)
class Sequences:
    input_NxL: np.ndarray  # int32, left-aligned, PAD after the real items
    target_NxL: np.ndarray  # int32, the item after each input position, PAD where none


@dataclasses.dataclass(frozen=True)
class NextItemData:
    train: Split  # the prefix form
    train_sequences: Sequences  # the sequence form
    valid: Split
    test: Split
    counts_V: np.ndarray  # float32 train-split occurrences of each id (0 for PAD/OOV)
    info: dict

    @property
    def num_ids(self) -> int:
        return len(self.counts_V)

    def train_rows(self, form: str) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets) of the train split in `form`: hist_NxL, target_N for "prefix";
        input_NxL, target_NxL for "sequence"."""
        if form == "prefix":
            return self.train.hist_NxL, self.train.target_N
        if form == "sequence":
            return self.train_sequences.input_NxL, self.train_sequences.target_NxL
        raise ValueError(f"train row form {form!r}; choose from {ROW_FORMS}")


def _rows(seqs: list[np.ndarray], last: int, max_len: int, *, all_prefixes: bool) -> Split:
    """Rows x[:t] -> x[t] for t = n-last, and with all_prefixes for every t in 1..n-last."""
    hist, target, seen = [], [], []
    for x in seqs:
        stop = len(x) - last
        for t in range(1, stop + 1) if all_prefixes else (stop,):
            hist.append(x[max(0, t - max_len) : t])
            target.append(x[t])
            seen.append(x[:t])
    width = max(len(s) for s in seen)
    return Split(
        _pad(hist, max_len),
        np.asarray(target, np.int32),
        _pad(seen, width) if not all_prefixes else np.zeros((len(target), 0), np.int32),
    )


def _sequences(seqs: list[np.ndarray], max_len: int) -> Sequences:
    """Per user, the last max_len + 1 items of x_1..x_{n-2}: inputs and next-item targets."""
    rows = [x[: len(x) - 2][-(max_len + 1) :] for x in seqs]
    return Sequences(_pad([r[:-1] for r in rows], max_len), _pad([r[1:] for r in rows], max_len))


def _pad(rows: list[np.ndarray], width: int) -> np.ndarray:
    out = np.full((len(rows), width), PAD_ID, np.int32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def from_sequences(sequences: list[list[int]], max_len: int = 50) -> NextItemData:
    """Splits raw item sequences (any integer ids, >= 3 items each) and relabels the ids."""
    if max_len < 1:
        raise ValueError(f"max_len={max_len}; need >= 1")
    short = [i for i, s in enumerate(sequences) if len(s) < 3]
    if short:
        raise ValueError(f"sequences {short[:5]} have < 3 items: leave-last-out needs 3")
    raw = [np.asarray(s, np.int64) for s in sequences]
    items = np.unique(np.concatenate(raw))
    train_counts = np.zeros(len(items), np.int64)
    np.add.at(train_counts, np.searchsorted(items, np.concatenate([x[:-2] for x in raw])), 1)
    order = np.lexsort((items, -train_counts))  # by decreasing count, then by raw id
    new_id = np.empty(len(items), np.int32)
    new_id[order] = FIRST_ID + np.arange(len(items), dtype=np.int32)
    seqs = [new_id[np.searchsorted(items, x)] for x in raw]
    counts_V = np.zeros(FIRST_ID + len(items), np.float32)
    counts_V[FIRST_ID:] = train_counts[order]
    return NextItemData(
        train=_rows(seqs, 3, max_len, all_prefixes=True),
        train_sequences=_sequences(seqs, max_len),
        valid=_rows(seqs, 2, max_len, all_prefixes=False),
        test=_rows(seqs, 1, max_len, all_prefixes=False),
        counts_V=counts_V,
        info={
            "users": len(seqs),
            "items": len(items),
            "interactions": int(sum(len(x) for x in seqs)),
            "max_len": max_len,
        },
    )


def load(path: str | pathlib.Path, max_len: int = 50) -> NextItemData:
    """An ICLRec-format file (`user item item ...` per line) split by `from_sequences`."""
    data = from_sequences([items for _, items in read_sequences(pathlib.Path(path))], max_len)
    return dataclasses.replace(data, info={"file": pathlib.Path(path).name, **data.info})
