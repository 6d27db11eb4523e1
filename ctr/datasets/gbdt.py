"""GBDT leaf features (He et al. 2014, "Practical Lessons from Predicting Clicks on Ads at
Facebook", ADKDD, Sec. 3.1): boosted trees as a learned, supervised feature transform.

Each of the T trees maps an example x to the leaf it falls into, l_t(x); the transformed example
is the one-hot vector of (l_1(x), ..., l_T(x)), and a linear classifier on it gives

    logit = b + sum_t w_t[l_t(x)]   (+ sum_f w_f[x_f] over the original fields, keep_original)

Here every tree becomes one categorical field "leaf_000", "leaf_001", ... whose id is the leaf
index + 2 (0 = PAD, 1 = OOV stay reserved; vocab_size = num_leaves + 2), so any CTR model reads
the leaves like any other field. The trees are fitted on train only; every split is mapped.

Why LightGBM: a histogram GBDT (fast on millions of rows on a CPU), native categorical splits
(our ids go in as categorical features, no one-hot blow-up), `predict(X, pred_leaf=True)` gives
the leaf indices directly, and it is well maintained. It is an optional dependency:
`pip install 'resctr[gbdt]'` (or `uv sync --extra gbdt`).

The transform is cached: `<cache_dir>/<key>/` holds the booster (booster.txt, for inspection
and for mapping new data) and `<split>.npy` leaf ids (N, T), where key hashes the content of every
split, the spec and the options, so a second call reads the arrays and trains nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib
import shutil
import uuid

import numpy as np

from ctr.features import OOV_ID, FeatureSpec, Field

CACHE_VERSION = 1  # bump when the cached layout or the leaf encoding changes
LEAF_PREFIX = "leaf_"
OPTIONS = ("num_trees", "num_leaves", "tree_learning_rate", "keep_original")  # model options


def _lightgbm():
    try:
        import lightgbm
    except ImportError as e:
        raise ImportError(
            "GBDT features need LightGBM: `pip install 'resctr[gbdt]'` or `uv sync --extra gbdt`"
        ) from e
    return lightgbm


def _matrix(spec: FeatureSpec, split: dict[str, np.ndarray]) -> np.ndarray:
    """(N, F) matrix of the categorical and numeric fields, in spec order (token bags skipped)."""
    fields = [f for f in spec.fields if f.kind in ("categorical", "numeric")]
    # float32 holds ids exactly only below 2^24
    big = any(f.vocab_size > 2**24 for f in fields)
    return np.stack([split[f.name] for f in fields], axis=1).astype(
        np.float64 if big else np.float32
    )


def _digest(spec: FeatureSpec, splits: dict, options: dict) -> str:
    """Content hash of every split (the trees see train, the cached leaves every split)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(json.dumps([CACHE_VERSION, spec.to_json(), options], sort_keys=True).encode())
    for split in sorted(splits):
        for name in sorted(splits[split]):
            a = np.ascontiguousarray(splits[split][name])
            h.update(f"{split}/{name}:{a.dtype}:{a.shape}".encode())
            h.update(a.data)
    return h.hexdigest()


def _train_leaves(spec, splits, options, seed, num_threads) -> tuple[str, dict[str, np.ndarray]]:
    """Fits the booster on train; returns its model text and leaf ids (N, T) int32 per split."""
    lgb = _lightgbm()
    fields = [f for f in spec.fields if f.kind in ("categorical", "numeric")]
    if not fields:
        raise ValueError("GBDT features need at least one categorical or numeric field")
    categorical = [i for i, f in enumerate(fields) if f.kind == "categorical"]
    params = {
        "objective": "binary",
        "num_leaves": options["num_leaves"],
        "learning_rate": options["tree_learning_rate"],
        "seed": seed,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": num_threads,
        "verbosity": -1,
    }
    train = lgb.Dataset(
        _matrix(spec, splits["train"]),
        label=splits["train"][spec.label],
        feature_name=[f.name for f in fields],
        categorical_feature=categorical,
        free_raw_data=True,
    )
    booster = lgb.train(params, train, num_boost_round=options["num_trees"])
    leaves = {
        name: np.asarray(booster.predict(_matrix(spec, s), pred_leaf=True), np.int32).reshape(
            len(s[spec.label]), -1
        )
        + (OOV_ID + 1)
        for name, s in splits.items()
    }
    return booster.model_to_string(), leaves


def _load_or_train(spec, splits, options, seed, num_threads, cache_dir) -> dict[str, np.ndarray]:
    if cache_dir is None:
        return _train_leaves(spec, splits, options, seed, num_threads)[1]
    folder = pathlib.Path(cache_dir) / _digest(spec, splits, {**options, "seed": seed})
    if folder.is_dir():  # written by rename below, so it is complete
        return {s: np.load(folder / f"{s}.npy") for s in splits}
    model_text, leaves = _train_leaves(spec, splits, options, seed, num_threads)
    # write into a temporary sibling and rename: a folder that exists is complete
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".tmp-{folder.name}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        (tmp / "booster.txt").write_text(model_text)
        for s, ids in leaves.items():
            np.save(tmp / f"{s}.npy", ids, allow_pickle=False)
        (tmp / "options.json").write_text(json.dumps({**options, "seed": seed}, indent=1))
        try:
            tmp.rename(folder)
        except OSError:  # another process (a sweep shard) got there first: keep its copy
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return leaves


def fit_gbdt_transform(
    spec: FeatureSpec,
    splits: dict[str, dict[str, np.ndarray]],
    *,
    num_trees: int = 30,
    num_leaves: int = 31,
    learning_rate: float = 0.1,
    seed: int = 0,
    keep_original: bool = True,
    num_threads: int = 0,
    cache_dir=None,
) -> tuple[FeatureSpec, dict[str, dict[str, np.ndarray]]]:
    """Adds one categorical field per tree ("leaf_000", ...) to `spec` and to every split.

    Trees are fitted on splits["train"]; without keep_original the original fields are dropped
    (and with them the spec's user_field, so no gAUC). `cache_dir=None` disables the cache.
    num_threads=0 is LightGBM's default (all cores); on a shared, loaded CPU 1 is much faster.
    """
    if num_trees < 1 or num_leaves < 2:
        raise ValueError(f"need num_trees >= 1 and num_leaves >= 2, got {num_trees}, {num_leaves}")
    if "train" not in splits:
        raise ValueError(f"GBDT features are fitted on a 'train' split; got {sorted(splits)}")
    options = dict(num_trees=num_trees, num_leaves=num_leaves, tree_learning_rate=learning_rate)
    leaves = _load_or_train(spec, splits, options, seed, num_threads, cache_dir)
    trees = next(iter(leaves.values())).shape[1]  # LightGBM stops early when no split gains
    names = [f"{LEAF_PREFIX}{t:03d}" for t in range(trees)]
    leaf_fields = tuple(Field(name=n, kind="categorical", vocab_size=num_leaves + 2) for n in names)
    originals = {f.name for f in spec.fields}
    new_splits = {}
    for s, cols in splits.items():
        kept = {k: v for k, v in cols.items() if keep_original or k not in originals}
        new_splits[s] = {**kept, **{n: leaves[s][:, t] for t, n in enumerate(names)}}
    if keep_original:
        new_spec = dataclasses.replace(spec, fields=spec.fields + leaf_fields)
    else:
        new_spec = dataclasses.replace(spec, fields=leaf_fields, user_field=None)
    return new_spec, new_splits


def prepare_for_model(
    model_name: str, spec, splits, options: dict, cache_dir, *, num_threads: int = 0
):
    """The runner's hook: applies the model's `feature_transform` (if any) before building it.

    `options` are the run's model options; the transform's own (OPTIONS) default to the model's
    field defaults. The tree seed is fixed (0) so that runs differing only in seed, which train
    as one vmapped group, share one transform. Models without a transform get (spec, splits).
    """
    from ctr.models import MODELS  # lazy: only the runner's hook needs the registry

    model_cls = MODELS[model_name]
    if getattr(model_cls, "feature_transform", None) != "gbdt":
        return spec, splits
    defaults = {k: f.default for k, f in model_cls.__dataclass_fields__.items() if k in OPTIONS}
    o = {**defaults, **{k: v for k, v in options.items() if k in OPTIONS}}
    return fit_gbdt_transform(
        spec,
        splits,
        num_trees=o["num_trees"],
        num_leaves=o["num_leaves"],
        learning_rate=o["tree_learning_rate"],
        keep_original=o["keep_original"],
        num_threads=num_threads,
        cache_dir=None if cache_dir is None else pathlib.Path(cache_dir) / "gbdt",
    )
