"""Sampled softmax with logQ correction (Bengio & Senécal 2008; Jean et al. 2015) for candidate
generation (Covington et al. 2016, "Deep Neural Networks for YouTube Recommendations", sec. 3),
and the retrieval metrics recall@K (HR@K) / NDCG@K: a target's 0-based rank among the item ids
[2, V) is the number of items scoring above it plus the number of lower ids scoring equal
(ties broken by id, never in the target's favour), with a user's seen items optionally removed.

Full softmax over V items: loss = -s_pos + log sum_j exp(s_j), s_j = <u, v_j>.
Sampled: S negatives drawn from q (with replacement); each negative logit is corrected by
log(S q_j) and accidental hits (a negative equal to the positive) are dropped:
    loss = -s_pos + log( exp(s_pos) + sum_{k: n_k != pos} exp(s_{n_k} - log(S q_{n_k})) )
The sum is an importance-sampling estimate of sum_{j != pos} exp(s_j), so the loss converges to
the full softmax loss as S grows. In-batch negatives are the other rows' positives, with q the
item's unigram frequency (Yi et al. 2019, "Sampling-bias-corrected neural modeling").

The log-uniform (Zipfian) sampler assumes ids are sorted by decreasing frequency, the convention
of TensorFlow's log_uniform_candidate_sampler: P(k) = log((k+2)/(k+1)) / log(R+1) over the
R = V - 2 vocabulary ids (PAD=0 and OOV=1 are never sampled).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

FIRST_ID = 2  # ids 0 (PAD) and 1 (OOV) are not items


def log_uniform_log_q(ids: jax.Array, vocab_size: int) -> jax.Array:
    """log P(id) under the log-uniform sampler over ids [2, vocab_size)."""
    k = (ids - FIRST_ID).astype(jnp.float32)
    return jnp.log(jnp.log1p(1.0 / (k + 1.0))) - jnp.log(jnp.log(vocab_size - FIRST_ID + 1.0))


def log_uniform_sample(key: jax.Array, num: int, vocab_size: int) -> tuple[jax.Array, jax.Array]:
    """num ids drawn with replacement by inverse CDF: (ids_S, log_q_S)."""
    u = jax.random.uniform(key, (num,))
    r = vocab_size - FIRST_ID
    k = jnp.clip(jnp.floor(jnp.exp(u * jnp.log(r + 1.0))) - 1.0, 0, r - 1).astype(jnp.int32)
    ids = k + FIRST_ID
    return ids, log_uniform_log_q(ids, vocab_size)


def sampled_softmax_loss(
    user_BxD: jax.Array,
    table_VxD: jax.Array,
    pos_B: jax.Array,
    neg_S: jax.Array,
    log_q_S: jax.Array,
) -> jax.Array:
    """Per-row loss (B,) against shared negatives neg_S with sampling log-probs log_q_S."""
    s_pos_B = jnp.einsum("bd,bd->b", user_BxD, table_VxD[pos_B])
    s_neg_BxS = user_BxD @ table_VxD[neg_S].T - (jnp.log(neg_S.shape[0]) + log_q_S)[None]
    s_neg_BxS = jnp.where(neg_S[None] == pos_B[:, None], -jnp.inf, s_neg_BxS)
    all_BxS1 = jnp.concatenate([s_pos_B[:, None], s_neg_BxS], axis=1)
    return jax.nn.logsumexp(all_BxS1, axis=1) - s_pos_B


def in_batch_softmax_loss(
    user_BxD: jax.Array, table_VxD: jax.Array, pos_B: jax.Array, log_q_B: jax.Array
) -> jax.Array:
    """Negatives are the batch's positives; log_q_B = log unigram frequency of pos_B."""
    return sampled_softmax_loss(user_BxD, table_VxD, pos_B, pos_B, log_q_B)


def full_softmax_loss(user_BxD: jax.Array, table_VxD: jax.Array, pos_B: jax.Array) -> jax.Array:
    """Exact softmax over the item ids [2, V) (the oracle for the sampled losses)."""
    s_BxV = user_BxD @ table_VxD[FIRST_ID:].T
    s_pos_B = jnp.einsum("bd,bd->b", user_BxD, table_VxD[pos_B])
    return jax.nn.logsumexp(s_BxV, axis=1) - s_pos_B


def target_ranks(
    scores_BxV: jax.Array, target_B: jax.Array, seen_BxM: jax.Array | None = None
) -> jax.Array:
    """0-based rank of each target among the items, seen items (PAD entries ignored) removed."""
    b, v = scores_BxV.shape
    s_BxV = scores_BxV.at[:, :FIRST_ID].set(-jnp.inf)
    if seen_BxM is not None:
        s_BxV = s_BxV.at[jnp.arange(b)[:, None], seen_BxM].set(-jnp.inf)  # PAD hits column 0
    t_Bx1 = jnp.take_along_axis(s_BxV, target_B[:, None], axis=1)
    before_BxV = jnp.arange(v)[None] < target_B[:, None]
    rank_B = ((s_BxV > t_Bx1) | ((s_BxV == t_Bx1) & before_BxV)).sum(axis=1)
    return jnp.where(jnp.isfinite(t_Bx1[:, 0]), rank_B, v).astype(jnp.int32)


def hit_rate_ndcg(rank_B: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """HR@K = mean[rank < K], NDCG@K = mean[(rank < K) / log2(rank + 2)] from 0-based ranks
    (one relevant item per row: its ideal DCG is 1)."""
    hit_B = rank_B < k
    return hit_B.mean(), jnp.where(hit_B, 1.0 / jnp.log2(rank_B + 2.0), 0.0).mean()


def recall_ndcg_at_k(scores_BxV: jax.Array, target_B: jax.Array, k: int) -> tuple[float, float]:
    """Recall@K (= HR@K) and NDCG@K of each row's target among the item ids [2, V)."""
    return hit_rate_ndcg(target_ranks(scores_BxV, target_B), k)
