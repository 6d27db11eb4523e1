"""Data schemas: a BARS-layout folder's columns written down once, under a name of the user's.

A schema file (JSON, or YAML when it ends in .yaml/.yml):

    name: movielens            # what sweep files (DataConfig(name=...)) and `data info` use
    label: label
    categorical: [user_id, item_id, gender, occupation]  # omitted: every column not named
    numeric: [age]
    multihot:                  # an unordered bag of tokens per row: every model embeds it
      genres: {sep: "|", max_len: 6}   # as the mean of its tokens' rows
    sequence:                  # an ordered history, read by the sequence models (DIN, ...)
      history: {sep: "^", max_len: 20, group: item_id}  # group: shares item_id's table
    user: user_id              # optional: valid/test gAUC grouped by this column
    min_count: 1               # a value seen fewer times in train maps to OOV
    delimiter: ","

`resctr data prepare csv --schema FILE --manual-dir DIR` turns it into the options of the csv
builder (ctr.datasets.bars), prepares the folder, and registers the name in the data dir:
`<data_dir>/<name>/schema.json` holds the builder, its options and the raw folder, so later
loads by name need neither the schema file nor --manual-dir. Sweeps resolve the name into the
full options (experiments.sweep_files), so a changed schema gives new run ids, never stale runs.
"""

from __future__ import annotations

import json
import pathlib
import re

from ctr.datasets.tabular import DataError

KEYS = (
    "name", "label", "categorical", "numeric", "multihot", "sequence", "user", "min_count",
    "delimiter",
)  # fmt: skip
TOKEN_KEYS = ("sep", "max_len")  # and optionally "group"
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
REGISTRY = "schema.json"


class SchemaError(DataError):
    """A bad schema file: the message names the file, the key or column, and the fix."""


def read(path) -> dict:
    """The schema file's mapping (YAML or JSON by suffix); not yet checked."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise SchemaError(f"schema file {path} does not exist")
    text = path.read_text()
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            schema = yaml.safe_load(text)
        else:
            schema = json.loads(text)
    except Exception as e:  # noqa: BLE001 - yaml and json raise their own error types
        raise SchemaError(f"{path}: cannot parse ({type(e).__name__}: {e})") from None
    if not isinstance(schema, dict):
        raise SchemaError(
            f"{path}: expected a mapping of {list(KEYS)}, got {type(schema).__name__}"
        )
    return schema


def _columns(schema: dict, key: str, where) -> list[str]:
    value = schema.get(key, [])
    if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
        raise SchemaError(f"{where}: {key!r} must be a list of column names, got {value!r}")
    return value


def _token_columns(schema: dict, key: str, delimiter: str, where) -> dict[str, dict]:
    value = schema.get(key, {})
    if not isinstance(value, dict):
        raise SchemaError(
            f"{where}: {key!r} must map each column to {{sep, max_len}}, got {value!r}"
        )
    out = {}
    for column, o in value.items():
        o = {} if o is None else o
        if not isinstance(o, dict) or set(o) - {*TOKEN_KEYS, "group"}:
            raise SchemaError(f"{where}: {key} column {column!r}: {o!r}; give sep and max_len "
                              '(and optionally group), e.g. {sep: "|", max_len: 6}')  # fmt: skip
        missing = [k for k in TOKEN_KEYS if k not in o]
        if missing:
            raise SchemaError(f"{where}: {key} column {column!r} needs {missing}")
        if not isinstance(o["sep"], str) or not o["sep"]:
            raise SchemaError(f"{where}: {key} column {column!r}: sep must be a non-empty string")
        if o["sep"] == delimiter:
            raise SchemaError(f"{where}: {key} column {column!r}: sep {o['sep']!r} is the file's "
                              "delimiter too; tokens need another separator")  # fmt: skip
        m = o["max_len"]
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise SchemaError(
                f"{where}: {key} column {column!r}: max_len must be an integer >= 1, got {m!r}"
            )
        out[column] = {"sep": o["sep"], "max_len": m}
        if "group" in o:
            if o["group"] not in schema.get("categorical", [o["group"]]):
                raise SchemaError(f"{where}: {key} column {column!r}: group {o['group']!r} must "
                                  "be a column listed under categorical")  # fmt: skip
            out[column]["group"] = o["group"]
    return out


def to_options(schema: dict, where="schema") -> tuple[str, dict]:
    """(name, csv builder options) of a schema mapping, checked."""
    unknown = sorted(set(schema) - set(KEYS))
    if unknown:
        raise SchemaError(f"{where}: unknown key(s) {unknown}; a schema has {list(KEYS)}")
    name = schema.get("name")
    from ctr.datasets import BUILDERS

    if not isinstance(name, str) or not NAME.fullmatch(name) or name in BUILDERS:
        raise SchemaError(f"{where}: 'name' must be a word of letters, digits, '_', '-', '.' "
                          f"and not a builder's name {sorted(BUILDERS)}; got {name!r}")  # fmt: skip
    label = schema.get("label")
    if not isinstance(label, str) or not label:
        raise SchemaError(f"{where}: 'label' must name the 0/1 click column, got {label!r}")
    delimiter = schema.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise SchemaError(f"{where}: 'delimiter' must be one character, got {delimiter!r}")
    min_count = schema.get("min_count", 1)
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise SchemaError(f"{where}: 'min_count' must be an integer >= 1, got {min_count!r}")
    plain = {k: _columns(schema, k, where) for k in ("categorical", "numeric")}
    tokens = {k: _token_columns(schema, k, delimiter, where) for k in ("multihot", "sequence")}
    kinds = {"label": [label], **plain, **{k: list(v) for k, v in tokens.items()}}
    seen: dict[str, str] = {}
    for kind, columns in kinds.items():
        for c in columns:
            if "," in c:
                raise SchemaError(f"{where}: column {c!r}: names with commas are not supported")
            if c in seen:
                raise SchemaError(f"{where}: column {c!r} is both {seen[c]} and {kind}; give "
                                  "each column one kind")  # fmt: skip
            seen[c] = kind
    user = schema.get("user")
    if user is not None and user not in schema.get("categorical", [user]):
        raise SchemaError(f"{where}: 'user' {user!r} must be a column listed under categorical")
    options = {
        "user_field": user or "",
        "label": label,
        "categorical": ",".join(plain["categorical"]),
        "numeric": ",".join(plain["numeric"]),
        "multihot": ",".join(tokens["multihot"]),
        "sequence": ",".join(tokens["sequence"]),
        "column_options": json.dumps(tokens["multihot"] | tokens["sequence"], sort_keys=True),
        "min_count": min_count,
        "delimiter": delimiter,
    }
    return name, options


def load(path) -> tuple[str, dict]:
    """(name, csv builder options) of a schema file, checked."""
    return to_options(read(path), where=path)


def _registry(name: str, data_dir) -> pathlib.Path:
    from ctr.datasets.store import default_data_dir

    return pathlib.Path(data_dir or default_data_dir()).expanduser() / name / REGISTRY


def register(name: str, *, data_dir, builder: str, options: dict, source: str, schema_file):
    path = _registry(name, data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"name": name, "builder": builder, "options": options, "source": source,
             "schema_file": str(pathlib.Path(schema_file).resolve())}  # fmt: skip
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entry, indent=1, sort_keys=True))
    tmp.replace(path)


def registered(name: str, data_dir) -> dict:
    """The registry entry of a schema name; a clear error when there is none."""
    from ctr.datasets import BUILDERS

    path = _registry(name, data_dir)
    if not path.is_file():
        raise SchemaError(
            f"unknown data set {name!r}: not a builder ({sorted(BUILDERS)}) and no schema of "
            f"that name is prepared in {path.parent.parent}; register it with `resctr data "
            "prepare csv --schema FILE --manual-dir DIR` (and pass the same --data-dir)"
        )
    return json.loads(path.read_text())


def options_for(name: str, data_dir, overrides: dict) -> dict:
    """A schema name's builder options with `overrides` on top, all filled in."""
    from ctr.datasets import resolve_options

    entry = registered(name, data_dir)
    return resolve_options(entry["builder"], {**entry["options"], **overrides})
