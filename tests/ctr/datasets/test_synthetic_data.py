"""Synthetic data: exact Bayes-optimal metrics, id conventions, caching, planted-signal learning."""

import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

import ctr.datasets as D
from ctr.datasets import synthetic


def test_bayes_optimal_matches_sklearn(tmp_path):
    spec, splits = D.load("synthetic", data_dir=tmp_path, rows=3000)
    info = D.load_info("synthetic", data_dir=tmp_path, rows=3000)
    assert set(splits) == {"train", "valid", "test"}
    for name, split in splits.items():
        want_auc = roc_auc_score(split["label"], split["prob"])
        want_ll = log_loss(split["label"], split["prob"].astype(np.float64))
        got = synthetic.bayes_optimal(split)
        assert got["auc"] == pytest.approx(want_auc, abs=1e-12)
        assert got["logloss"] == pytest.approx(want_ll, rel=1e-9)
        assert info["bayes_optimal"][name]["auc"] == pytest.approx(want_auc, abs=1e-12)


def test_auc_handles_ties_like_sklearn():
    rng = np.random.default_rng(1)
    y, s = rng.random(500) < 0.3, np.round(rng.random(500), 1)
    assert synthetic.auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_columns_dtypes_and_sizes(tmp_path):
    spec, splits = D.load("synthetic", data_dir=tmp_path, rows=1000, num_fields=3, test=0.0)
    assert set(splits) == {"train", "valid"}  # a zero-size split is absent
    assert len(splits["train"]["label"]) == 1000 and len(splits["valid"]["label"]) == 250
    assert [f.name for f in spec.fields] == ["f0", "f1", "f2"] and spec.label == "label"
    for split in splits.values():
        assert set(np.unique(split["label"])) <= {0.0, 1.0}
        assert split["label"].dtype == np.float32 and split["prob"].dtype == np.float32
        for f in spec.fields:
            ids = split[f.name]
            assert ids.dtype == np.int32 and ids.min() >= 1 and ids.max() < f.vocab_size
    # every train value is in the vocabulary: train never holds OOV (min_count=1)
    assert all(splits["train"][f.name].min() >= 2 for f in spec.fields)


def test_vocab_from_train_only_and_min_count(tmp_path):
    # Zipf over a large vocabulary: rare values appear in valid but not in train -> OOV (1)
    kw = dict(rows=300, vocab=500, zipf=0.5, num_fields=2)
    spec, splits = D.load("synthetic", data_dir=tmp_path, **kw)
    assert (splits["valid"]["f0"] == 1).any()
    seen = len(np.unique(splits["train"]["f0"]))
    assert spec.field("f0").vocab_size == seen + 2
    _, s5 = D.load("synthetic", data_dir=tmp_path, min_count=5, **kw)
    assert (s5["train"]["f0"] == 1).any()  # values seen < 5 times in train map to OOV


def test_cache_and_determinism(tmp_path):
    _, a = D.load("synthetic", data_dir=tmp_path, rows=500, seed=3)
    folders = list((tmp_path / "synthetic").iterdir())
    _, b = D.load("synthetic", data_dir=tmp_path / "other", rows="500", seed=3)  # CLI strings
    _, c = D.load("synthetic", data_dir=tmp_path, rows=500, seed=4)
    assert len(folders) == 1
    np.testing.assert_array_equal(a["test"]["prob"], b["test"]["prob"])
    assert not np.array_equal(a["train"]["prob"], c["train"]["prob"])
    with pytest.raises(ValueError, match="unknown options"):
        D.load("synthetic", data_dir=tmp_path, rowz=5)


def test_user_field(tmp_path):
    spec, splits = D.load("synthetic", data_dir=tmp_path, rows=500, users=20)
    assert spec.user_field == "user" and splits["train"]["user"].dtype == np.int32


def _logistic_auc(splits, spec, steps=200, lr=2.0):
    """Gradient descent of a logistic model on one-hot features (as index lists; each weight's
    step scaled by its count, a diagonal Newton step, so rare values converge too): test AUC."""
    offsets = np.cumsum([0] + [f.vocab_size for f in spec.fields])[:-1]

    def onehot_idx(split):  # (N, F) positions of the ones
        return np.stack([split[f.name] for f in spec.fields], 1) + offsets

    idx, y = onehot_idx(splits["train"]), splits["train"]["label"]
    size = offsets[-1] + spec.fields[-1].vocab_size
    w, count = np.zeros(size), np.bincount(idx.ravel(), minlength=size) + 1.0
    for _ in range(steps):
        g = 1 / (1 + np.exp(-w[idx].sum(1))) - y
        grad = np.bincount(idx.ravel(), weights=np.repeat(g, idx.shape[1]), minlength=size)
        w -= lr * (grad + 1e-2 * w) / count
    test = splits["test"]
    return synthetic.auc(test["label"], w[onehot_idx(test)].sum(1))


def test_logistic_regression_approaches_bayes_on_first_order_data(tmp_path):
    kw = dict(rows=20000, pairwise=0.0, higher=0.0, first_order=1.5, seed=1)
    spec, splits = D.load("synthetic", data_dir=tmp_path, **kw)
    bayes = synthetic.bayes_optimal(splits["test"])["auc"]
    got = _logistic_auc(splits, spec)
    assert bayes - 0.01 < got <= bayes + 0.005
    # and the planted interactions are real: the same model falls short when they are on
    spec2, splits2 = D.load("synthetic", data_dir=tmp_path, rows=20000, pairwise=1.5, higher=1.0)
    assert synthetic.bayes_optimal(splits2["test"])["auc"] - _logistic_auc(splits2, spec2) > 0.03


def test_default_data_dir_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("RESCTR_DATA_DIR", str(tmp_path))
    D.load("synthetic", rows=100)
    assert len(list((tmp_path / "synthetic").glob("*/spec.json"))) == 1
