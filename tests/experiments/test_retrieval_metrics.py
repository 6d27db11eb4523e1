"""Full-catalogue ranking metrics against a brute-force numpy oracle (sort every row)."""

import jax.numpy as jnp
import numpy as np
import pytest

from experiments.retrieval_metrics import hr_ndcg, make_rank_fn, target_ranks


def oracle_rank(scores_V, target, seen) -> int:
    """Position of the target in the items [2, V) minus `seen`, sorted by (-score, id)."""
    items = [j for j in range(2, len(scores_V)) if j not in set(seen)]
    if target not in items:
        return len(scores_V)
    order = sorted(items, key=lambda j: (-scores_V[j], j))
    return order.index(target)


def test_ranks_match_the_sorted_oracle_with_ties_and_seen_items():
    rng = np.random.default_rng(0)
    b, v, m = 64, 30, 6
    scores = rng.integers(0, 4, (b, v)).astype(np.float32)  # many ties
    target = rng.integers(2, v, b).astype(np.int32)
    seen = rng.integers(0, v, (b, m)).astype(np.int32)  # 0 = PAD entries; some hit the target
    seen[:, :2] = np.where(seen[:, :2] == target[:, None], 0, seen[:, :2])
    got = np.asarray(target_ranks(jnp.asarray(scores), jnp.asarray(target), jnp.asarray(seen)))
    want = [oracle_rank(scores[i], target[i], seen[i][seen[i] > 1]) for i in range(b)]
    np.testing.assert_array_equal(got, want)
    assert (got == v).any() and (got < v).any()  # both seen targets and ranked ones occur
    everything = np.asarray(target_ranks(jnp.asarray(scores), jnp.asarray(target)))
    np.testing.assert_array_equal(
        everything, [oracle_rank(scores[i], target[i], []) for i in range(b)]
    )


def test_hr_ndcg_at_the_boundary_rank():
    ranks = np.array([0, 9, 10, 19, 20, 500])  # 0-based: rank 9 is the 10th item, a hit @10
    m = hr_ndcg(ranks, ks=(10, 20))
    assert m["HR@10"] == pytest.approx(2 / 6)
    assert m["HR@20"] == pytest.approx(4 / 6)
    assert m["NDCG@10"] == pytest.approx((1 + 1 / np.log2(11)) / 6)
    assert m["NDCG@20"] == pytest.approx(
        (1 + 1 / np.log2(11) + 1 / np.log2(12) + 1 / np.log2(21)) / 6
    )


def test_blocked_rank_fn_equals_one_block():
    rng = np.random.default_rng(1)
    n, v, length = 37, 25, 4
    table = rng.normal(size=(v, 3)).astype(np.float32)
    hist = rng.integers(2, v, (n, length)).astype(np.int32)
    target = rng.integers(2, v, n).astype(np.int32)

    def score_fn(table, hist_BxL):
        return table[hist_BxL].mean(1) @ table.T

    excl, full = make_rank_fn(score_fn, batch_size=8)(
        jnp.asarray(table), jnp.asarray(hist), jnp.asarray(target), jnp.asarray(hist)
    )
    scores = score_fn(jnp.asarray(table), jnp.asarray(hist))
    np.testing.assert_array_equal(
        excl, target_ranks(scores, jnp.asarray(target), jnp.asarray(hist))
    )
    np.testing.assert_array_equal(full, target_ranks(scores, jnp.asarray(target)))
