"""Avazu click-through prediction (Kaggle, 2014), raw CSV with header.

Raw (`train`, `train.gz`, `train.csv` or `file=`): header `id,click,hour,C1,banner_pos,...,C21`;
split at random (seeded) into train/valid/test. A BARS-layout folder with the same columns (and
`label` in place of `click`) is read as is. `id` is dropped; `hour` (YYMMDDHH) becomes two
categorical fields, hour of day and weekday; every other column is categorical (BARS: min
count 2).
"""

from __future__ import annotations

import datetime

import numpy as np

from ctr.datasets import bars
from ctr.datasets.tabular import Table, find_file, find_split_file, random_split, read_table

FEATURES = (
    "C1",
    "banner_pos",
    "site_id",
    "site_domain",
    "site_category",
    "app_id",
    "app_domain",
    "app_category",
    "device_id",
    "device_ip",
    "device_model",
    "device_type",
    "device_conn_type",
    *(f"C{i}" for i in range(14, 22)),
)
DEFAULTS = dict(min_count=2, file="", valid=0.1, test=0.1, seed=0)
NEEDS_MANUAL_DIR = True


def _split_hour(t: Table) -> None:
    """Replaces `hour` (YYMMDDHH) by `hour` (00-23) and `weekday` (0 = Monday)."""
    hours = t.columns.pop("hour").tolist()
    weekday = []
    for i, h in enumerate(hours):
        try:
            if len(h) != 8:
                raise ValueError
            weekday.append(
                str(datetime.date(2000 + int(h[:2]), int(h[2:4]), int(h[4:6])).weekday())
            )
            if not 0 <= int(h[6:]) <= 23:
                raise ValueError
        except ValueError:
            raise t.error(i, f"hour {h!r} is not a YYMMDDHH timestamp") from None
    t.columns["hour"] = np.asarray([h[6:] for h in hours])
    t.columns["weekday"] = np.asarray(weekday)


def build(manual_dir, **o):
    if not o["file"] and find_split_file(manual_dir, "train") is not None:
        tables = bars.read_folder(manual_dir)
    else:
        path = find_file(manual_dir, o["file"], ("train", "train.gz", "train.csv"))
        tables = random_split(read_table(path), o["valid"], o["test"], o["seed"])
    label = "click" if "click" in tables["train"].columns else "label"
    for t in tables.values():
        t.columns.pop("id", None)
        if "hour" in t.columns:  # a missing hour is reported by encode's column check
            _split_hour(t)
    spec, splits = bars.encode(
        tables,
        label=label,
        categorical=["hour", "weekday", *FEATURES],
        min_count=o["min_count"],
    )
    return spec, splits, {}
