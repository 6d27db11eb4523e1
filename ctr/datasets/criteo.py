"""Criteo Display Advertising Challenge (Kaggle, 2014), raw TSV or BARS CSV.

Raw (`train.txt`, `dac_sample.txt`, or `file=`): tab-separated, no header, 40 columns
label, I1-I13 (integers, may be empty or negative), C1-C26 (hashed strings, may be empty); split
at random (seeded) into train/valid/test; a single comma-separated file with the BARS header
(the DeepCTR samples) is split the same way. BARS layout: `train.csv[.gz]`, `valid.csv[.gz]`,
optional `test.csv[.gz]` with header `label,I1,...,I13,C1,...,C26`.

Integers are bucketed the BARS way (after the Criteo winners' solution) and treated as
categorical: v > 2 -> floor(log(v)^2), else v; a missing value is its own token, so it gets an
id like any other value. BARS uses min_count 10.
"""

from __future__ import annotations

import numpy as np

from ctr.datasets import bars
from ctr.datasets.tabular import (
    check_columns,
    find_file,
    find_split_file,
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


def build(manual_dir, **o):
    if not o["file"] and find_split_file(manual_dir, "train") is not None:
        tables = bars.read_folder(manual_dir)
    else:
        path = find_file(manual_dir, o["file"], ("train.txt", "train.txt.gz", "dac_sample.txt"))
        with open(path, "rb") as f:
            has_header = f.read(6) == b"label,"  # the CSV samples (DeepCTR) carry a header
        table = read_table(path) if has_header else read_table(path, delimiter="\t", names=COLUMNS)
        tables = random_split(table, o["valid"], o["test"], o["seed"])
    for t in tables.values():
        check_columns(t, COLUMNS)
        for c in INTEGER:
            t.columns[c] = bucket(parse_numeric(t, c, empty=np.nan))
    spec, splits = bars.encode(
        tables, label="label", categorical=[*INTEGER, *CATEGORICAL], min_count=o["min_count"]
    )
    return spec, splits, {}
