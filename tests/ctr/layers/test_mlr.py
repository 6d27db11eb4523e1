"""LS-PLM mixture logit against the probability computed by an explicit loop over pieces."""

import numpy as np

from ctr.layers.mlr import mlr_logit


def test_mlr_logit_matches_loop():
    rng = np.random.default_rng(0)
    gate, pred = rng.normal(size=(2, 5, 4)).astype(np.float32) * 3
    want = np.zeros(5)
    for n in range(5):
        soft = np.exp(gate[n].astype(np.float64))
        soft /= soft.sum()
        p = sum(soft[m] / (1 + np.exp(-pred[n, m])) for m in range(4))
        want[n] = np.log(p / (1 - p))
    np.testing.assert_allclose(mlr_logit(gate, pred), want, rtol=1e-4, atol=1e-5)


def test_mlr_logit_is_finite_for_extreme_scores():
    gate = np.zeros((1, 3), np.float32)
    pred = np.array([[80.0, 90.0, 100.0]], np.float32)
    assert np.isfinite(mlr_logit(gate, pred)).all()
