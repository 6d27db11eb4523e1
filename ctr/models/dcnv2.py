"""DCN-V2 (Wang et al. 2021, "DCN V2: Improved Deep & Cross Network", eq. 1 and sec. 3.3).

x_0 = [e_1; ...; e_F];  cross: x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l (full W_l), or with
low_rank=r the mixture Σ_e g_e(x_l) x_0 ⊙ (U_e tanh(C_e tanh(V_e^T x_l)) + b_l) + x_l.
structure: "parallel" logit = w^T [x_L; Tower(x_0)], "stacked" w^T Tower(x_L),
"stacked_parallel" w^T [Tower(x_L); Tower(x_0)], "crossnet_only" w^T x_L (FuxiCTR DCNv2).

Residual slots:
  * the cross layers (ctr.layers.cross.CrossNet): the published "+ x_l" is the built-in
    shortcut; `none` keeps it, other families replace it, builtin_shortcut=False removes it;
    fixed width (`concat` projects);
  * every layer of the deep tower(s) (`none`: the published plain MLP).
Defaults: BARS Frappe_x1 (4 cross layers, parallel, hidden 400x3, dropout 0.4, BatchNorm).
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

STRUCTURES = ("parallel", "stacked", "stacked_parallel", "crossnet_only")


class DCNv2(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    num_cross_layers: int = 4
    structure: str = "parallel"
    low_rank: int | None = None  # set: the mixture of low-rank experts
    num_experts: int = 4
    hidden: tuple[int, ...] = (400, 400, 400)
    activation: str = "relu"
    dropout: float = 0.4
    batch_norm: bool = True
    builtin_shortcut: bool = True

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        if self.structure not in STRUCTURES:
            raise ValueError(f"DCNv2 structure={self.structure!r}; choose from {STRUCTURES}")
        emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
        x0_BxW = emb_BxFxD.reshape(emb_BxFxD.shape[0], -1)
        cross = CrossNet(
            self.num_cross_layers, self.connection, "v2" if self.low_rank is None else "mix",
            low_rank=self.low_rank or 0, num_experts=self.num_experts,
            builtin_shortcut=self.builtin_shortcut, name="cross",
        )  # fmt: skip
        cross_BxW = cross(x0_BxW, train=train)

        def tower(x: jax.Array, name: str) -> jax.Array:
            return Tower(
                tuple(self.hidden), self.connection, self.activation, self.dropout,
                self.batch_norm, out_dim=None, name=name,
            )(x, train=train, mask_B=batch.get("mask"))  # fmt: skip

        parts = {
            "parallel": lambda: [cross_BxW, tower(x0_BxW, "tower")],
            "stacked": lambda: [tower(cross_BxW, "stacked_tower")],
            "stacked_parallel": lambda: [
                tower(cross_BxW, "stacked_tower"),
                tower(x0_BxW, "tower"),
            ],
            "crossnet_only": lambda: [cross_BxW],
        }[self.structure]()
        return nn.Dense(1, name="out")(jnp.concatenate(parts, axis=-1))[:, 0]
