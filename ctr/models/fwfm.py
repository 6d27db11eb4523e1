"""Field-weighted Factorization Machine (Pan et al. 2018, "Field-weighted Factorization Machines
for Click-Through Rate Prediction in Display Advertising", eq. 3).

logit = b + Σ_i w_i x_i  +  Σ_{i<j} r_{f_i, f_j} <e_i, e_j>
(LW linear term; r starts at 1, so the model starts as an FM.)

Residual slot: the linear + pairwise sum (ctr.layers.slots.Combine), published sum as built-in
shortcut; combine="sum" pins it. There is no tower, so `dag` has nothing to rewire (compat).
"""

from __future__ import annotations

import flax.linen as nn
import jax

from ctr.features import FeatureSpec
from ctr.layers.embedding import FeatureEmbedding, LinearTerm
from ctr.layers.ffm import FieldWeightedInteraction
from ctr.layers.slots import Combine
from resnets import ConnectionFactory


class FwFM(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    combine: str = "connection"  # ctr.layers.slots.COMBINE

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
        pairs_B = FieldWeightedInteraction(name="fwfm")(emb_BxFxD)
        linear_B = LinearTerm(self.spec, name="linear")(batch)
        combine = Combine(self.connection, self.combine, name="combine")
        return combine(linear_B, pairs_B, train=train)
