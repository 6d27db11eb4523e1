"""Logistic regression, the first-order baseline (BARS "LR").

logit = b + sum_f w_f[id_f]   (LinearTerm). No residual slot: the connection is accepted for the
uniform model contract and ignored, so every family gives the same model.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from ctr.features import FeatureSpec
from ctr.layers.embedding import LinearTerm
from resnets import ConnectionFactory


class LR(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10  # unused: LR has no embeddings

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        del train
        return LinearTerm(self.spec, name="linear")(batch)
