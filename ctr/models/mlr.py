"""Mixed Logistic Regression, LS-PLM (Gai et al. 2017, "Learning Piece-wise Linear Models from
Large Scale Data for Ad Click Prediction", eq. 2 with the softmax divider).

p(y=1|x) = Σ_{m<M} softmax_m(u^T x) σ(w_m^T x), returned as a logit (ctr.layers.mlr).
Both u_m^T x and w_m^T x are first-order terms over the one-hot features: per-id weight rows of
width 2M in tables named table_* (so BARS's LR-style regularizer applies), plus biases.
`embedding_dim` is unused (the model has no embeddings).

Residual slots: none. Every family would train the same model, so compat lists mlr with every
family but `none`.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from ctr.features import FeatureSpec
from ctr.layers.embedding import FeatureEmbedding
from ctr.layers.mlr import mlr_logit
from resnets import ConnectionFactory


class MLR(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    num_pieces: int = 12  # the paper's m = 12

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        m = self.num_pieces
        scores = FeatureEmbedding(self.spec, dim=2 * m, name="weights")(batch).sum(axis=1)
        scores = scores + self.param("bias", nn.initializers.zeros, (1, 2 * m))
        return mlr_logit(scores[:, :m], scores[:, m:])
