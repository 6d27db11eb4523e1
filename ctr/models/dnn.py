"""Plain DNN over concatenated field embeddings (Covington et al. 2016, "YouTube DNN"; BARS DNN).

logit = Tower([e_1; ...; e_F]), the tower h_{k+1} = connection(hist, MLP_k(h_k)), then Dense(1).
Residual slots: every tower layer (connection `none` is the published plain MLP).
"""

from __future__ import annotations

import flax.linen as nn
import jax

from ctr.features import FeatureSpec
from ctr.layers.embedding import FeatureEmbedding
from ctr.layers.tower import Tower
from resnets import ConnectionFactory


class DNN(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    hidden: tuple[int, ...] = (400, 400, 400)
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False
    norm: str = "none"  # stack-level none/bn/ln around each merge (resnets/norm.py)
    norm_position: str = "pre"
    activation_after_merge: bool = False  # ResNet v1 placement (ctr/layers/tower.py)
    zero_init_residual: bool = False  # every block's BN γ starts at 0 (ctr/layers/tower.py)

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
        x_BxI = emb_BxFxD.reshape(emb_BxFxD.shape[0], -1)
        tower = Tower(
            tuple(self.hidden),
            self.connection,
            self.activation,
            self.dropout,
            self.batch_norm,
            out_dim=1,
            norm=self.norm,
            norm_position=self.norm_position,
            activation_after_merge=self.activation_after_merge,
            zero_init_residual=self.zero_init_residual,
            name="tower",
        )
        return tower(x_BxI, train=train, mask_B=batch.get("mask"))[:, 0]
