"""The real files in ../shared/data (skipped when absent): verified row and positive counts."""

import numpy as np
import pytest

import ctr.datasets as D

pytestmark = pytest.mark.shared_data


def test_frappe_counts(shared_data, tmp_path):
    raw = shared_data / "frappe" / "frappe_x1"
    spec, splits = D.load("frappe", data_dir=tmp_path, manual_dir=raw)
    assert set(splits) == {"train", "valid"}  # the shared copy keeps no test split
    assert spec.num_fields == 10 and all(f.kind == "categorical" for f in spec.fields)
    counts = {s: (len(d["label"]), int(d["label"].sum())) for s, d in splits.items()}
    assert counts == {"train": (202_027, 67_604), "valid": (57_722, 19_063)}
    assert spec.field("weekday").vocab_size == 7 + 2 and spec.field("city").vocab_size <= 233 + 2
    # a second load reads the cache: no manual_dir needed, identical arrays
    _, again = D.load("frappe", data_dir=tmp_path)
    np.testing.assert_array_equal(again["valid"]["item"], splits["valid"]["item"])


def test_criteo_and_avazu_samples(shared_data, tmp_path):
    spec, s = D.load(
        "criteo",
        data_dir=tmp_path,
        manual_dir=shared_data / "criteo_samples",
        file="deepctr_criteo_sample.txt",
        min_count=1,
    )
    assert spec.num_fields == 39 and sum(len(d["label"]) for d in s.values()) == 200
    assert sum(d["label"].sum() for d in s.values()) == pytest.approx(0.245 * 200)
    spec, s = D.load(
        "avazu",
        data_dir=tmp_path,
        manual_dir=shared_data / "avazu_samples",
        file="deepctr_avazu_sample.txt",
    )
    assert spec.num_fields == 23 and sum(len(d["label"]) for d in s.values()) == 100
    assert sum(d["label"].sum() for d in s.values()) == pytest.approx(0.20 * 100)
