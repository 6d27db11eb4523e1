"""DeepFM (Guo et al. 2017, "DeepFM: A Factorization-Machine based Neural Network", eq. 1).

y = linear + FM + DNN, all three reading one shared embedding:
  fm   = b + sum_f w_f[id_f] + sum_{i<j} <e_i, e_j>
  deep = Tower([e_1; ...; e_F])  (h_{k+1} = connection(hist, MLP_k(h_k)), then Dense(1))

Residual slots:
  * every tower layer (connection `none` gives the published plain MLP);
  * the FM/deep sum (ctr.layers.slots.Combine, the wide+deep slot every backbone shares):
    logit = connection([fm], deep) on width-1 states, with the published sum as its built-in
    shortcut: `none` and `identity` give exactly fm + deep, `scaled` learns beta*deep + w*fm,
    `gated` a highway mix. combine="sum" pins the published sum for every family (tower only).
"""

from __future__ import annotations

import flax.linen as nn
import jax

from ctr.features import FeatureSpec
from ctr.layers.embedding import FeatureEmbedding, LinearTerm
from ctr.layers.fm import fm_interaction
from ctr.layers.slots import Combine
from ctr.layers.tower import Tower
from resnets import ConnectionFactory


class DeepFM(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    hidden: tuple[int, ...] = (400, 400, 400)
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False
    combine: str = "connection"  # ctr.layers.slots.COMBINE
    norm: str = "none"  # stack-level none/bn/ln around each merge (resnets/norm.py)
    norm_position: str = "pre"

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
        fm_B = LinearTerm(self.spec, name="linear")(batch) + fm_interaction(emb_BxFxD)
        tower = Tower(
            tuple(self.hidden),
            self.connection,
            self.activation,
            self.dropout,
            self.batch_norm,
            out_dim=1,
            norm=self.norm,
            norm_position=self.norm_position,
            name="tower",
        )
        x_BxI = emb_BxFxD.reshape(emb_BxFxD.shape[0], -1)
        deep_B = tower(x_BxI, train=train, mask_B=batch.get("mask"))[:, 0]
        combine = Combine(self.connection, self.combine, name="combine")
        return combine(fm_B, deep_B, train=train)
