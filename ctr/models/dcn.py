"""Deep & Cross Network (Wang et al. 2017, "Deep & Cross Network for Ad Click Predictions").

x_0 = [e_1; ...; e_F];  cross: x_{l+1} = x_0 x_l^T w_l + b_l + x_l (eq. 3);
deep: Tower(x_0);  logit = w^T [x_L; h_deep] + b (eq. 5, the combination layer).

Residual slots:
  * the cross layers (ctr.layers.cross.CrossNet): the published "+ x_l" is the built-in
    shortcut; `none` keeps it, every other family replaces it (h = connection(hist, f(x_l))),
    builtin_shortcut=False with `none` removes it; fixed width, so `concat` projects;
  * every deep tower layer (`none` gives the published plain MLP).
Defaults: BARS Frappe_x1 (hidden 400x3, dropout 0.2, BatchNorm; FuxiCTR's 3 cross layers).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.features import FeatureSpec
from ctr.layers.cross import CrossNet
from ctr.layers.embedding import FeatureEmbedding
from ctr.layers.tower import Tower
from resnets import ConnectionFactory


class DCN(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    num_cross_layers: int = 3
    hidden: tuple[int, ...] = (400, 400, 400)  # () gives CrossNet alone
    activation: str = "relu"
    dropout: float = 0.2
    batch_norm: bool = True
    builtin_shortcut: bool = True

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
        x0_BxW = emb_BxFxD.reshape(emb_BxFxD.shape[0], -1)
        cross = CrossNet(
            self.num_cross_layers, self.connection, "v1",
            builtin_shortcut=self.builtin_shortcut, name="cross",
        )  # fmt: skip
        parts = [cross(x0_BxW, train=train)]
        if self.hidden:
            tower = Tower(
                tuple(self.hidden), self.connection, self.activation, self.dropout,
                self.batch_norm, out_dim=None, name="tower",
            )  # fmt: skip
            parts.append(tower(x0_BxW, train=train, mask_B=batch.get("mask")))
        return nn.Dense(1, name="out")(jnp.concatenate(parts, axis=-1))[:, 0]
