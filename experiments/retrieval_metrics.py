"""Full-catalogue ranking metrics for next-item retrieval: HR@K and NDCG@K, one target per row.

The rank and the metrics are ctr.layers.sampled_softmax's (`target_ranks`, `hit_rate_ndcg`,
which YouTube DNN's `candidate_metrics` also uses):
rank = #{items j scoring above the target} + #{items j < target scoring equal to it}
(ties are broken by item id, i.e. by train popularity, never in the target's favour);
HR@K = mean[rank < K], NDCG@K = mean[(rank < K) / log2(rank + 2)] (the ideal DCG of one
relevant item is 1). Items ranked: ids [2, V) (PAD and OOV are not items).

Seen items: ICLRec (salesforce/ICLRec src/trainers.py, `iteration`, full_sort branch) sets the
scores of the user's history (src/utils.py generate_rating_matrix_valid/test: items[:-2] for
valid, items[:-1] for test) to 0 before taking the top 20, so they are in effect excluded; we
exclude them with -inf (the same unless a model gives unseen items negative scores, where
ICLRec's 0 would rank a seen item above them). A target that is in its own history (a repeat
purchase) can then never be retrieved: its rank is V, a miss, as in ICLRec.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ctr.layers.sampled_softmax import hit_rate_ndcg, target_ranks

KS = (5, 10, 20)


def hr_ndcg(rank_N: np.ndarray, ks: tuple[int, ...] = KS) -> dict[str, float]:
    """{"HR@k", "NDCG@k"} for each k from 0-based ranks."""
    out = {}
    for k in ks:
        hr, ndcg = hit_rate_ndcg(jnp.asarray(rank_N), k)
        out[f"HR@{k}"], out[f"NDCG@{k}"] = float(hr), float(ndcg)
    return out


def make_rank_fn(score_fn: Callable, batch_size: int):
    """rank(params, hist_NxL, target_N, seen_NxM) -> (ranks with seen items excluded, ranks
    over all items), both int32 (N,): one jitted scan over row blocks; score_fn(params, hist_BxL)
    -> scores_BxV scores the whole catalogue for a block."""

    @jax.jit
    def rank(params, hist_NxL, target_N, seen_NxM):
        n = target_N.shape[0]
        steps = -(-n // batch_size)
        pad = steps * batch_size - n

        def blocks(x):
            x = jnp.concatenate([x, jnp.zeros((pad, *x.shape[1:]), x.dtype)])
            return x.reshape(steps, batch_size, *x.shape[1:])

        def body(carry, xs):
            hist_BxL, target_B, seen_BxM = xs
            scores_BxV = score_fn(params, hist_BxL)
            both = (
                target_ranks(scores_BxV, target_B, seen_BxM),
                target_ranks(scores_BxV, target_B),
            )
            return carry, both

        _, (excl_SxB, all_SxB) = jax.lax.scan(
            body, None, (blocks(hist_NxL), blocks(target_N), blocks(seen_NxM))
        )
        return excl_SxB.reshape(-1)[:n], all_SxB.reshape(-1)[:n]

    return rank
