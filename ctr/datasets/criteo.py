"""Criteo Display Advertising Challenge (Kaggle, 2014), raw TSV or BARS CSV.

Raw (`train.txt[.gz]`, `dac_sample.txt`, or `file=`): tab-separated, no header, 40 columns
label, I1-I13 (integers, may be empty or negative), C1-C26 (hashed strings, may be empty); split
at random (seeded) into train/valid/test; a single comma-separated file with the BARS header
(the DeepCTR samples) is split the same way. Without `file=`, a `valid.txt[.gz]` or
`test.txt[.gz]` next to it in the same format is that split (its fraction option is then unused)
and only the missing splits are cut from the train file; with `file=`, that one file is split
and nothing else is read. Kaggle's own `test.txt` has no label column (39 fields): it is an
error, as it cannot be scored. BARS layout: `train.csv[.gz]`, `valid.csv[.gz]`, optional
`test.csv[.gz]` with header `label,I1,...,I13,C1,...,C26`.

Integers are bucketed the BARS way (after the Criteo winners' solution) and treated as
categorical: v > 2 -> floor(log(v)^2), else v; a missing value is its own token, so it gets an
id like any other value. BARS uses min_count 10.
"""

from __future__ import annotations

import zlib

import numpy as np

from ctr.datasets import bars
from ctr.datasets.tabular import (
    SPLITS,
    DataError,
    Table,
    check_columns,
    find_file,
    find_split_file,
    open_text,
    parse_numeric,
    random_split,
    read_table,
)

INTEGER = tuple(f"I{i}" for i in range(1, 14))
CATEGORICAL = tuple(f"C{i}" for i in range(1, 27))
COLUMNS = ["label", *INTEGER, *CATEGORICAL]
DEFAULTS = dict(min_count=10, file="", valid=0.1, test=0.1, seed=0)
NEEDS_MANUAL_DIR = True


def bucket(values_N: np.ndarray) -> np.ndarray:
    """BARS integer bucketing to string tokens; NaN (missing) -> ""."""
    out = np.where(values_N > 2, np.floor(np.log(np.maximum(values_N, 1)) ** 2), values_N)
    tokens = np.char.mod("%d", np.nan_to_num(out)).astype(object)
    tokens[np.isnan(values_N)] = ""
    return tokens.astype(str)


def read_raw(path) -> Table:
    """One raw file: Kaggle TSV without header, or CSV with the BARS header (DeepCTR samples)."""
    try:
        with open_text(path) as f:
            first = f.readline()
    except (EOFError, OSError, zlib.error, UnicodeDecodeError):
        first = ""  # unreadable: read_table reports it with the line and the fix
    if first.startswith("label,"):
        return read_table(path)
    if first.count("\t") == len(COLUMNS) - 2:
        raise DataError(
            f"{path}: {len(COLUMNS) - 1} fields, no label column (Kaggle's test.txt is "
            "unlabeled and cannot be scored); move it out of the folder, or pass file=train.txt "
            "to split the train file alone"
        )
    return read_table(path, delimiter="\t", names=COLUMNS)


def read_raw_splits(manual_dir, o) -> dict[str, Table]:
    """The train file, split at random into the splits that have no file of their own."""
    path = find_file(manual_dir, o["file"], ("train.txt", "train.txt.gz", "dac_sample.txt"))
    held_out = ("valid", "test")
    found = {} if o["file"] else {s: find_split_file(manual_dir, s, "txt") for s in held_out}
    given = {s: p for s, p in found.items() if p is not None}
    fractions = {s: 0.0 if s in given else o[s] for s in held_out}
    tables = random_split(read_raw(path), **fractions, seed=o["seed"])
    tables |= {s: read_raw(p) for s, p in given.items()}
    return {s: tables[s] for s in SPLITS if s in tables}


def build(manual_dir, **o):
    if not o["file"] and find_split_file(manual_dir, "train") is not None:
        tables = bars.read_folder(manual_dir)
    else:
        tables = read_raw_splits(manual_dir, o)
    for t in tables.values():
        check_columns(t, COLUMNS)
        for c in INTEGER:
            t.columns[c] = bucket(parse_numeric(t, c, empty=np.nan))
    spec, splits = bars.encode(
        tables, label="label", categorical=[*INTEGER, *CATEGORICAL], min_count=o["min_count"]
    )
    return spec, splits, {}
