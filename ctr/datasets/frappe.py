"""Frappe (Baltrunas et al., arXiv:1505.03014, 2015) in the BARS `Frappe_x1` layout.

`train.csv[.gz]`, `valid.csv[.gz]`, optional `test.csv[.gz]`; header
`label,user,item,daytime,weekday,isweekend,homework,cost,weather,country,city`, every feature a
categorical libfm id. BARS settings: no rare-value filtering (min_count 1), all ten fields
categorical. A split without a file is simply absent (the shared copy has no test split).
"""

from __future__ import annotations

from ctr.datasets import bars

FIELDS = (
    "user",
    "item",
    "daytime",
    "weekday",
    "isweekend",
    "homework",
    "cost",
    "weather",
    "country",
    "city",
)
DEFAULTS = dict(min_count=1)
NEEDS_MANUAL_DIR = True


def build(manual_dir, **o):
    tables = bars.read_folder(manual_dir)
    spec, splits = bars.encode(
        tables, label="label", categorical=list(FIELDS), min_count=o["min_count"]
    )
    return spec, splits, {}
