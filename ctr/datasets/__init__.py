"""Data sets: prepare once (raw files -> train-only vocabularies -> cached numpy), load fast.

`load(name, data_dir=..., manual_dir=..., **options) -> (FeatureSpec, {split: {column: array}})`
returns int32 ids (0 PAD, 1 OOV, >= 2 train vocabulary), float32 numerics and a float32 0/1
"label" column (plus "prob" for synthetic data, "user" where a user field exists). The first
call prepares the data set into `<data_dir>/<name>/<options hash>/`; later calls read the cached
arrays. `prepare(..., records=True)` also writes TFDS array_record files there (`records/`),
readable with `tfds.data_source` without TensorFlow.

`name` is a builder of BUILDERS or the name of a schema prepared with `prepare_schema`
(ctr.datasets.schema): such a name stands for the csv builder with the schema's options and
raw folder, and is cached under `<data_dir>/<name>/`.
"""

from __future__ import annotations

import json
import pathlib

from ctr.datasets import amazon, avazu, bars, criteo, frappe, schema, store, synthetic
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

__all__ = [
    "BUILDERS", "DataError", "default_data_dir", "load", "load_info", "prepare", "prepare_schema",
]  # fmt: skip


def _builder(name: str):
    if name not in BUILDERS:
        raise ValueError(f"unknown data set {name!r}; known: {sorted(BUILDERS)}")
    return BUILDERS[name]


def _coerce(name: str, key: str, value, default):
    """Converts an option (a string when it comes from the command line) to its default's type."""
    if isinstance(default, str):
        if isinstance(value, dict):  # a JSON-valued option (the csv builder's column_options)
            return json.dumps(value, sort_keys=True)
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


def _lookup(name: str, data_dir) -> tuple[str, dict, str | None]:
    """(builder, registered options, registered raw folder) of a builder or a schema name."""
    if name in BUILDERS:
        return name, {}, None
    entry = schema.registered(name, data_dir)
    return entry["builder"], entry["options"], entry["source"]


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
    builder_name, registered, source = _lookup(name, data_dir)
    return _prepare(
        name, builder_name, {**registered, **options}, data_dir=data_dir,
        manual_dir=manual_dir or source, force=force, records=records,
    )  # fmt: skip


def prepare_schema(
    path, *, data_dir=None, manual_dir=None, force: bool = False, records: bool = False
) -> tuple[str, pathlib.Path]:
    """Prepares the BARS folder `manual_dir` as the schema file `path` describes it, registers
    the schema's name in `data_dir`, and returns (name, folder)."""
    name, options = schema.load(path)
    folder = _prepare(name, "csv", options, data_dir=data_dir, manual_dir=manual_dir,
                      force=force, records=records)  # fmt: skip
    info = store.read_info(folder)
    schema.register(name, data_dir=data_dir, builder="csv", options=info["options"],
                    source=info["source"], schema_file=path)  # fmt: skip
    return name, folder


def _prepare(name, builder_name, options, *, data_dir, manual_dir, force, records):
    builder = _builder(builder_name)
    opts = resolve_options(builder_name, options)
    added = getattr(builder, "ADDED_OPTIONS", {})
    key = {k: v for k, v in opts.items() if k not in added or added[k] != v}
    folder = store.folder_for(data_dir, name, key)
    source = str(pathlib.Path(manual_dir).expanduser().resolve()) if manual_dir else None
    has_records = not records or (folder / "records").is_dir()
    if store.is_prepared(folder) and not force and has_records:
        cached = store.read_info(folder).get("source")
        if source is None or source == cached:
            return folder
    if builder.NEEDS_MANUAL_DIR and source is None:
        raise DataError(
            f"{name} is not prepared in {folder.parent}; run "
            f"`resctr data prepare {builder_name} --manual-dir DIR` (or pass manual_dir=) first"
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
