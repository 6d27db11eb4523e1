"""Deep Crossing (Shan et al. 2016, "Deep Crossing: Web-Scale Modeling without Manually Crafted
Combinatorial Features", eq. 1; FuxiCTR DeepCrossing/ResidualBlock).

x_0 = [e_1; ...; e_F];  residual unit: x_{l+1} = ReLU(BN(f(x_l) + x_l)),
f(x) = W_2 ReLU(W_1 x + b_1) + b_2 (hidden width `residual_units[l]`, output width(x_0));
logit = w^T x_L + b.

Residual slot: the units' built-in "+ x_l": `none` keeps it, every other family replaces it,
x_{l+1} = ReLU(BN(connection(hist, f(x_l)))), builtin_shortcut=False with `none` removes it
(a plain deep network). Fixed width (`concat` projects). The stack is not an MLP tower, so `dag`
has nothing to rewire (compat). Defaults: FuxiCTR's residual_blocks (64, 64, 64).
"""

from __future__ import annotations

import flax.linen as nn
import jax

from ctr.features import FeatureSpec
from ctr.layers.embedding import FeatureEmbedding
from resnets import ConnectionFactory, residual_stack
from resnets.norm import batch_norm


class DeepCrossing(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    residual_units: tuple[int, ...] = (64, 64, 64)
    dropout: float = 0.0
    batch_norm: bool = False
    builtin_shortcut: bool = True

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
        x0_BxW = emb_BxFxD.reshape(emb_BxFxD.shape[0], -1)

        def unit(i: int, units: int):
            def f(x_BxW: jax.Array) -> jax.Array:
                hidden = nn.relu(nn.Dense(units, name=f"unit_{i}_in")(x_BxW))
                return nn.Dense(x0_BxW.shape[-1], name=f"unit_{i}_out")(hidden)

            return f

        def post(h: jax.Array, i: int) -> jax.Array:
            if self.batch_norm:
                h = batch_norm(h, train=train, mask_B=batch.get("mask"), name=f"bn_{i}")
            return nn.Dropout(self.dropout, deterministic=not train)(nn.relu(h))

        blocks = [unit(i, units) for i, units in enumerate(self.residual_units)]
        x_BxW = residual_stack(
            x0_BxW,
            blocks,
            self.connection,
            train=train,
            post=post,
            builtin_shortcut=self.builtin_shortcut,
            fixed_width=True,
        )
        return nn.Dense(1, name="out")(x_BxW)[:, 0]
