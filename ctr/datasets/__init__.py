"""Data sets: prepare once (raw files -> train-only vocabularies -> cached numpy), load fast.

`load(name, data_dir=..., manual_dir=..., **options) -> (FeatureSpec, {split: {column: array}})`
returns int32 ids (0 PAD, 1 OOV, >= 2 train vocabulary), float32 numerics and a float32 0/1
"label" column (plus "prob" for synthetic data, "user" where a user field exists). The first
call prepares the data set into `<data_dir>/<name>/<options hash>/`; later calls read the cached
arrays. `prepare(..., records=True)` also writes TFDS array_record files there (`records/`),
readable with `tfds.data_source` without TensorFlow.
"""

from __future__ import annotations

import pathlib

from ctr.datasets import amazon, avazu, bars, criteo, frappe, store, synthetic
from ctr.datasets.store import default_data_dir
from ctr.datasets.tabular import DataError

# name -> builder module: DEFAULTS (options and their types), NEEDS_MANUAL_DIR, build().
BUILDERS = {
    "synthetic": synthetic,
    "frappe": frappe,
    "csv": bars,
    "criteo": criteo,
    "avazu": avazu,
    "amazon": amazon,
}

__all__ = ["BUILDERS", "DataError", "default_data_dir", "load", "load_info", "prepare"]


def _builder(name: str):
    if name not in BUILDERS:
        raise ValueError(f"unknown data set {name!r}; known: {sorted(BUILDERS)}")
    return BUILDERS[name]


def _coerce(name: str, key: str, value, default):
    """Converts an option (a string when it comes from the command line) to its default's type."""
    if isinstance(default, str):
        return ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    if isinstance(default, bool):
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        if isinstance(value, bool):
            return value
        raise ValueError(f"{name}: option {key}={value!r} must be true or false")
    try:
        out = type(default)(value)
        if isinstance(default, int) and float(value) != out:  # rows=2.5 is not silently 2
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}: option {key}={value!r} must be of type {type(default).__name__}"
        ) from None
    return out


def resolve_options(name: str, options: dict) -> dict:
    """The builder's defaults updated with `options`; unknown keys are an error."""
    defaults = _builder(name).DEFAULTS
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ValueError(f"{name}: unknown options {unknown}; known: {sorted(defaults)}")
    return {k: _coerce(name, k, options.get(k, d), d) for k, d in defaults.items()}


def prepare(
    name: str,
    *,
    data_dir=None,
    manual_dir=None,
    force: bool = False,
    records: bool = False,
    **options,
) -> pathlib.Path:
    """Prepares the data set (unless cached) and returns its folder.

    `records=True` also writes TFDS array_record files (slow, ~3k rows/s) under `records/`.
    """
    builder = _builder(name)
    opts = resolve_options(name, options)
    folder = store.folder_for(data_dir, name, opts)
    source = str(pathlib.Path(manual_dir).expanduser().resolve()) if manual_dir else None
    has_records = not records or (folder / "records").is_dir()
    if store.is_prepared(folder) and not force and has_records:
        cached = store.read_info(folder).get("source")
        if source is None or source == cached:
            return folder
    if builder.NEEDS_MANUAL_DIR and source is None:
        raise DataError(
            f"{name} is not prepared in {folder.parent}; run "
            f"`resctr data prepare {name} --manual-dir DIR` (or pass manual_dir=) first"
        )
    if source is not None and not pathlib.Path(source).is_dir():
        raise DataError(f"{name}: manual_dir {source} is not a folder")
    spec, splits, info = builder.build(pathlib.Path(source) if source else None, **opts)
    info = {"name": name, "source": source, "options": opts, **info}
    records_fn = None
    if records:
        from ctr.datasets import records as records_mod  # TFDS import is slow: only when needed

        records_fn = lambda path: records_mod.write(path, name, splits)  # noqa: E731
    store.write(folder, spec, splits, info, opts, records_fn)
    return folder


def load(name: str, *, data_dir=None, manual_dir=None, **options):
    """(FeatureSpec, {split: {column: np.ndarray}}), preparing the data set on first use."""
    folder = prepare(name, data_dir=data_dir, manual_dir=manual_dir, **options)
    return store.read_spec(folder), store.read_splits(folder)


def load_info(name: str, *, data_dir=None, manual_dir=None, **options) -> dict:
    """What the prepare recorded: source, options, and for synthetic data "bayes_optimal"."""
    folder = prepare(name, data_dir=data_dir, manual_dir=manual_dir, **options)
    return store.read_info(folder)
