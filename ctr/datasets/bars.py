"""The `csv` builder: any BARS-layout folder, schema given by options.

BARS layout (Zhu et al., "BARS: Towards Open Benchmarking for Recommender Systems", SIGIR 2022):
one folder with `train.csv[.gz]`, `valid.csv[.gz]` and optionally `test.csv[.gz]`, a header
line, a 0/1 label column and feature columns. Categorical columns get train-only vocabularies;
numeric columns are parsed as float32; sequence columns (ordered histories) and multihot columns
(unordered bags, e.g. `Action|Comedy`) hold `sep`-separated tokens, encoded to (N, max_len) ids
keeping the last max_len. `column_options` (a JSON object, e.g. {"genres": {"sep": "|",
"max_len": 6}}; ctr.datasets.schema writes it from a schema file) sets `sep` and `max_len` per
token column, and `group`: the categorical column whose vocabulary and embedding table the
tokens share (a history of item ids and the target item: the vocabulary is built from both).
`user_field` names the categorical user column that gAUC groups by. `encode` is shared by
frappe and criteo.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

from ctr.datasets.tabular import (
    SPLITS,
    DataError,
    Table,
    Vocab,
    check_columns,
    find_split_file,
    parse_labels,
    parse_numeric,
    read_table,
    split_tokens,
)
from ctr.features import FeatureSpec, Field

DEFAULTS = dict(
    label="label",
    categorical="",  # comma-separated; empty: every column not named elsewhere
    numeric="",
    sequence="",
    multihot="",
    sep="^",  # token separator inside sequence and multihot columns
    max_len=20,
    column_options="",  # JSON {column: {"sep": ..., "max_len": ..., "group": ...}}
    user_field="",  # the categorical user column: valid/test gAUC
    min_count=1,
    delimiter=",",
)
NEEDS_MANUAL_DIR = True
# Options added after data sets were first prepared: left out of the cache key at their
# defaults, so folders prepared before them are still found.
ADDED_OPTIONS = {"multihot": "", "column_options": "", "user_field": ""}


def names(option: str) -> list[str]:
    return [c.strip() for c in option.split(",") if c.strip()]


def read_folder(folder: pathlib.Path, **read_kwargs) -> dict[str, Table]:
    """The split files present in a BARS folder (train is required, valid/test optional)."""
    tables = {}
    for split in SPLITS:
        path = find_split_file(folder, split)
        if path is not None:
            tables[split] = read_table(path, **read_kwargs)
    if "train" not in tables:
        raise DataError(f"{folder}: no train.csv or train.csv.gz; a BARS folder needs one")
    return tables


def encode(
    tables: dict[str, Table],
    *,
    label: str,
    categorical: list[str],
    numeric: list[str] = (),
    sequence: list[str] = (),
    multihot: list[str] = (),
    sep: str = "^",
    max_len: int = 20,
    min_count: int = 1,
    column_options: dict | None = None,
    user_field: str | None = None,
) -> tuple[FeatureSpec, dict[str, dict[str, np.ndarray]]]:
    """Checks every table's columns, builds vocabularies on train, encodes every split."""
    roles = {"label": [label], "categorical": categorical, "numeric": numeric}
    roles |= {"sequence": sequence, "multihot": multihot}
    seen: dict[str, str] = {}
    for role, columns in roles.items():
        for c in columns:
            if c in seen:
                raise DataError(f"column {c!r} is named as both {seen[c]} and {role}; give each "
                                "column one kind")  # fmt: skip
            seen[c] = role
    expected = list(seen)
    for table in tables.values():
        check_columns(table, expected)
    per_column = column_options or {}
    tokens = {
        c: (per_column.get(c, {}).get("sep", sep), per_column.get(c, {}).get("max_len", max_len))
        for c in (*sequence, *multihot)
    }
    groups = {c: o["group"] for c, o in per_column.items() if o.get("group")}
    for c, g in groups.items():
        if g not in categorical:
            raise DataError(f"column {c!r}: group {g!r} is not a categorical column; name the "
                            "categorical column whose table the tokens share")  # fmt: skip
    if user_field and user_field not in categorical:
        raise DataError(f"user_field {user_field!r} is not a categorical column")
    train = tables["train"]
    token_values = {c: split_tokens(train.columns[c], s) for c, (s, _) in tokens.items()}
    vocabs = {  # a table shared with token columns learns their train tokens too
        c: Vocab(
            np.concatenate(
                [train.columns[c], *(token_values[t] for t, g in groups.items() if g == c)]
            ),
            min_count,
        )
        for c in categorical
    }
    token_vocabs = {
        c: vocabs[groups[c]] if c in groups else Vocab(values, min_count)
        for c, values in token_values.items()
    }
    splits = {}
    for split, t in tables.items():
        cols = {c: v.encode(t.columns[c]) for c, v in vocabs.items()}
        cols |= {c: parse_numeric(t, c).astype(np.float32) for c in numeric}
        cols |= {c: v.encode_sequences(t.columns[c], *tokens[c]) for c, v in token_vocabs.items()}
        cols["label"] = parse_labels(t, label)
        splits[split] = cols
    fields = [Field(name=c, kind="categorical", vocab_size=v.size) for c, v in vocabs.items()]
    fields += [Field(name=c, kind="numeric") for c in numeric]
    fields += [
        Field(
            name=c,
            kind="sequence" if c in sequence else "multihot",
            vocab_size=v.size,
            max_len=tokens[c][1],
            group=groups.get(c),
        )
        for c, v in token_vocabs.items()
    ]
    return FeatureSpec(fields=tuple(fields), user_field=user_field or None), splits


def parse_column_options(text: str, token_columns: list[str]) -> dict:
    """The `column_options` JSON: {column: {"sep": str, "max_len": int >= 1}} for token columns."""
    if not text:
        return {}
    try:
        options = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"csv: column_options is not JSON ({e}): {text!r}") from None
    if not isinstance(options, dict):
        raise DataError(f"csv: column_options must be a JSON object, got {text!r}")
    for column, o in options.items():
        if column not in token_columns:
            raise DataError(f"csv: column_options names {column!r}, which is not a sequence or "
                            f"multihot column ({token_columns})")  # fmt: skip
        if not isinstance(o, dict) or set(o) - {"sep", "max_len", "group"}:
            raise DataError(
                f"csv: column_options[{column!r}] = {o!r}; allowed keys: sep, max_len, group"
            )
        if "sep" in o and not (isinstance(o["sep"], str) and o["sep"]):
            raise DataError(f"csv: column {column!r}: sep must be a non-empty string")
        m = o.get("max_len", 1)
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise DataError(f"csv: column {column!r}: max_len must be an integer >= 1, got {m!r}")
    return options


def build(manual_dir: pathlib.Path, **o):
    tables = read_folder(manual_dir, delimiter=o["delimiter"])
    numeric, sequence, multihot = names(o["numeric"]), names(o["sequence"]), names(o["multihot"])
    categorical = names(o["categorical"]) or [
        c for c in tables["train"].columns if c not in (o["label"], *numeric, *sequence, *multihot)
    ]
    spec, splits = encode(
        tables,
        label=o["label"],
        categorical=categorical,
        numeric=numeric,
        sequence=sequence,
        multihot=multihot,
        sep=o["sep"],
        max_len=o["max_len"],
        min_count=o["min_count"],
        column_options=parse_column_options(o["column_options"], [*sequence, *multihot]),
        user_field=o["user_field"],
    )
    return spec, splits, {}
