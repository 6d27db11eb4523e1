"""YouTube DNN (Covington et al. 2016, "Deep Neural Networks for YouTube Recommendations").

Ranking (sec. 4, `YouTubeDNN`, in MODELS):
    logit = Tower([context; e_t; mean_l e_l])       (watched items averaged, fig. 7)
The paper trains it with weighted logistic regression (positives weighted by watch time); here
it trains with the unweighted loss, as every model does (FeatureSpec rejects a weight_field).

Candidate generation (sec. 3, `YouTubeCandidate`, not in MODELS: it returns a user vector, not
logits (B,)):
    u = Tower([context; mean_l e_l]) ∈ R^E,   P(w_t = i | U) = softmax_i(<u, v_i>)     (eq. 1)
trained with a sampled softmax (`youtube_candidate_loss`: log-uniform negatives with logQ
correction, or in-batch negatives) and evaluated with recall@K / NDCG@K over all items
(`candidate_metrics`). The item vectors v_i are the shared input embedding table (the paper
learns separate output embeddings).

Residual slots: every layer of the (ranking or user) tower.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.features import FeatureSpec
from ctr.layers.sampled_softmax import (
    in_batch_softmax_loss,
    log_uniform_sample,
    recall_ndcg_at_k,
    sampled_softmax_loss,
)
from ctr.layers.sequence import BehaviourEmbedding, behaviour_fields, masked_mean
from ctr.layers.tower import Tower
from resnets import ConnectionFactory

SAMPLERS = ("log_uniform", "in_batch")


class YouTubeDNN(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    hidden: tuple[int, ...] = (1024, 512, 256)
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        beh = BehaviourEmbedding(self.spec, self.embedding_dim, name="behaviour")(batch)
        watched_BxE = masked_mean(beh.hist_BxLxE, beh.mask_BxL)
        x = jnp.concatenate([beh.context_BxC, beh.target_BxE, watched_BxE], axis=-1)
        tower = Tower(
            tuple(self.hidden),
            self.connection,
            self.activation,
            self.dropout,
            self.batch_norm,
            out_dim=1,
            name="tower",
        )
        return tower(x, train=train, mask_B=batch.get("mask"))[:, 0]


class YouTubeCandidate(nn.Module):
    """User tower: batch -> (user_BxE, item table VxE of the first behaviour field)."""

    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    hidden: tuple[int, ...] = (1024, 512, 256)
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False):
        seq, _ = behaviour_fields(self.spec)[0]
        embed = BehaviourEmbedding(self.spec, self.embedding_dim, name="behaviour")
        beh = embed(batch)
        watched_BxE = masked_mean(beh.hist_BxLxE, beh.mask_BxL)
        tower = Tower(
            tuple(self.hidden),
            self.connection,
            self.activation,
            self.dropout,
            self.batch_norm,
            out_dim=self.embedding_dim,
            name="tower",
        )
        x = jnp.concatenate([beh.context_BxC, watched_BxE], axis=-1)
        user_BxE = tower(x, train=train, mask_B=batch.get("mask"))
        return user_BxE, embed.table(seq.table)


def target_ids(spec: FeatureSpec, batch: dict[str, jax.Array]) -> jax.Array:
    """The positive item ids: the target field of the first behaviour field."""
    return batch[behaviour_fields(spec)[0][1].name]


def youtube_candidate_loss(
    user_BxE: jax.Array,
    table_VxE: jax.Array,
    pos_B: jax.Array,
    key: jax.Array,
    *,
    sampler: str = "log_uniform",
    num_sampled: int = 100,
    log_q_V: jax.Array | None = None,
) -> jax.Array:
    """Mean sampled-softmax loss. in_batch needs log_q_V (log unigram item frequencies)."""
    if sampler == "log_uniform":
        neg_S, log_q_S = log_uniform_sample(key, num_sampled, table_VxE.shape[0])
        return sampled_softmax_loss(user_BxE, table_VxE, pos_B, neg_S, log_q_S).mean()
    if sampler == "in_batch":
        if log_q_V is None:
            raise ValueError("in_batch sampling needs log_q_V, the log item frequencies")
        return in_batch_softmax_loss(user_BxE, table_VxE, pos_B, log_q_V[pos_B]).mean()
    raise ValueError(f"sampler={sampler!r}; choose from {SAMPLERS}")


def candidate_metrics(user_BxE, table_VxE, pos_B, k: int = 10) -> tuple[jax.Array, jax.Array]:
    """(recall@k, NDCG@k) of the positives against every item by <u, v_i>."""
    return recall_ndcg_at_k(user_BxE @ table_VxE.T, pos_B, k)
