"""The `csv` builder: any BARS-layout folder, schema given by options.

BARS layout (Zhu et al., "BARS: Towards Open Benchmarking for Recommender Systems", SIGIR 2022):
one folder with `train.csv[.gz]`, `valid.csv[.gz]` and optionally `test.csv[.gz]`, a header
line, a 0/1 label column and feature columns. Categorical columns get train-only vocabularies;
numeric columns are parsed as float32; sequence columns hold `sep`-separated tokens, encoded to
(N, max_len) ids keeping the last max_len. `encode` is shared by frappe and criteo.
"""

from __future__ import annotations

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
    sep="^",  # token separator inside sequence columns
    max_len=20,
    min_count=1,
    delimiter=",",
)
NEEDS_MANUAL_DIR = True


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
    sep: str = "^",
    max_len: int = 20,
    min_count: int = 1,
) -> tuple[FeatureSpec, dict[str, dict[str, np.ndarray]]]:
    """Checks every table's columns, builds vocabularies on train, encodes every split."""
    expected = [label, *categorical, *numeric, *sequence]
    for table in tables.values():
        check_columns(table, expected)
    train = tables["train"]
    vocabs = {c: Vocab(train.columns[c], min_count) for c in categorical}
    seq_vocabs = {c: Vocab(split_tokens(train.columns[c], sep), min_count) for c in sequence}
    splits = {}
    for split, t in tables.items():
        cols = {c: v.encode(t.columns[c]) for c, v in vocabs.items()}
        cols |= {c: parse_numeric(t, c).astype(np.float32) for c in numeric}
        cols |= {c: v.encode_sequences(t.columns[c], sep, max_len) for c, v in seq_vocabs.items()}
        cols["label"] = parse_labels(t, label)
        splits[split] = cols
    fields = [Field(name=c, kind="categorical", vocab_size=v.size) for c, v in vocabs.items()]
    fields += [Field(name=c, kind="numeric") for c in numeric]
    fields += [
        Field(name=c, kind="sequence", vocab_size=v.size, max_len=max_len)
        for c, v in seq_vocabs.items()
    ]
    return FeatureSpec(fields=tuple(fields)), splits


def build(manual_dir: pathlib.Path, **o):
    tables = read_folder(manual_dir, delimiter=o["delimiter"])
    numeric, sequence = names(o["numeric"]), names(o["sequence"])
    categorical = names(o["categorical"]) or [
        c for c in tables["train"].columns if c not in (o["label"], *numeric, *sequence)
    ]
    spec, splits = encode(
        tables,
        label=o["label"],
        categorical=categorical,
        numeric=numeric,
        sequence=sequence,
        sep=o["sep"],
        max_len=o["max_len"],
        min_count=o["min_count"],
    )
    return spec, splits, {}
