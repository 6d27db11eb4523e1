"""bench/scale.py's on-device Criteo-shaped data: vocabularies, Zipf ids, the planted logit."""

import math

import jax
import numpy as np
import pytest

from bench import scale

ROWS = 20_000


@pytest.fixture(scope="module")
def spec():
    return scale.make_spec(scale.vocab_sizes(1000, 8))


def test_vocab_sizes_log_uniform_and_divisible():
    v = np.array(scale.vocab_sizes(10_000_000, 8))
    assert len(v) == scale.NUM_FIELDS == 39
    assert (v % 8 == 0).all() and (np.diff(v) >= 0).all()
    assert v[0] >= 12 and 10_000_002 <= v[-1] < 10_000_010  # 10 .. max, + PAD and OOV
    ratios = np.diff(np.log(v[10:]))  # log-uniform: equal steps (rounding aside)
    np.testing.assert_allclose(ratios, math.log(1e6) / 38, rtol=0.05)


def test_ids_in_vocab_zipf_and_deterministic(spec):
    data = scale.build(spec, ROWS, seed=3, split=0)
    for f in spec.fields:
        ids = np.asarray(data[f.name])
        assert ids.dtype == np.int32 and ids.min() >= 2 and ids.max() < f.vocab_size
    # rank 1 (= id 2 + HASH mod n) has probability ln 2 / ln n under rank = floor(n^u)
    f = spec.fields[-1]
    n = f.vocab_size - 2
    top = np.mean(np.asarray(data[f.name]) == 2 + scale.HASH % n)
    assert top == pytest.approx(math.log(2) / math.log(n), abs=0.01)
    again = scale.build(spec, ROWS, seed=3, split=0)
    other = scale.build(spec, ROWS, seed=4, split=0)
    assert all(np.array_equal(data[k], again[k]) for k in data)
    assert not np.array_equal(data["C39"], other["C39"])


def test_planted_logit_matches_formula_and_is_shared_by_splits(spec):
    """prob = sigmoid(bias + 1/sqrt(F) sum_f w_f[id_f mod 2^16]), same w in both splits."""
    for split in (0, 1):
        data = scale.build(spec, ROWS, seed=5, split=split)
        z = np.full(ROWS, -1.3)
        for i, f in enumerate(spec.fields):
            key = jax.random.fold_in(jax.random.PRNGKey(5), i)
            w = np.asarray(jax.random.normal(key, (scale.W_SLOTS,)))
            z += w[np.asarray(data[f.name]) % scale.W_SLOTS] / math.sqrt(len(spec.fields))
        np.testing.assert_allclose(data["prob"], 1 / (1 + np.exp(-z)), atol=1e-5)
        rate = float(np.mean(data["label"]))
        assert 0.1 < rate < 0.5 and rate == pytest.approx(float(np.mean(data["prob"])), abs=0.01)
