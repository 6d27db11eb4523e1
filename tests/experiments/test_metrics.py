"""Exact whole-split metrics against scikit-learn and a brute-force gAUC."""

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn.metrics import log_loss, roc_auc_score

from experiments import metrics


def test_auc_and_logloss_match_sklearn_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000).astype(np.float32)
    logits = np.round(rng.normal(size=5000) + y, 1)  # rounding makes many ties
    assert metrics.auc(y, logits) == pytest.approx(roc_auc_score(y, logits), abs=1e-12)
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    assert metrics.logloss(y, logits) == pytest.approx(log_loss(y, p), rel=1e-9)


@pytest.mark.parametrize("values", [[3.0, 1.0, 3.0, 2.0, 1.0, 3.0], [7.0], [], [2.0, 2.0, 2.0]])
def test_average_ranks_equal_scipy_rankdata(values):
    x = np.asarray(values)
    np.testing.assert_array_equal(metrics.average_ranks(x), rankdata(x))
    shuffled = np.random.default_rng(2).normal(size=1000).round(1)  # ties, any order
    np.testing.assert_array_equal(metrics.average_ranks(shuffled), rankdata(shuffled))


def test_auc_of_nan_scores_is_nan():
    assert np.isnan(metrics.auc(np.array([0, 1, 0]), np.array([0.1, np.nan, 0.3])))


def test_auc_degenerate_and_perfect():
    assert np.isnan(metrics.auc(np.ones(4), np.arange(4)))
    assert metrics.auc(np.array([0, 0, 1, 1]), np.array([1, 2, 3, 4])) == 1.0
    assert metrics.auc(np.array([0, 1]), np.array([5, 5])) == 0.5


def test_gauc_is_impression_weighted_user_auc():
    rng = np.random.default_rng(1)
    users = rng.integers(0, 6, 600)
    y = rng.integers(0, 2, 600)
    s = rng.normal(size=600) + y * users / 3
    users[users == 5] = 5
    y[users == 5] = 1  # one-class user: left out
    num = den = 0.0
    for u in range(5):
        m = users == u
        num += m.sum() * roc_auc_score(y[m], s[m])
        den += m.sum()
    assert metrics.gauc(y, s, users) == pytest.approx(num / den, abs=1e-12)
