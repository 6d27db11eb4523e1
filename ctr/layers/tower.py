"""The MLP tower of DNN-family CTR models, with a residual connection at every layer.

h_0 = input, then one residual layer per width in `hidden` (resnets.residual_stack: the family
merges MLP_k's output into its residual stream), then an optional final Dense(out_dim). With
connection `none` this is the plain published tower (BARS MLP_Block). `norm` ("none" | "bn" |
"ln") at `norm_position` "pre" normalizes what each block reads, at "post" the merged state
(resnets/norm.py); `batch_norm` is the separate BARS in-block BN (Dense -> BN -> act inside
MLP_k). `mask_B` (1 = real row) keeps the padding rows of a ragged batch out of every
BatchNorm's statistics. A fused family (dag) rewires the whole tower as one neuron graph.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from resnets import ConnectionFactory, MLPTower, residual_stack
from resnets.blocks import MLP


class Tower(nn.Module):
    hidden: tuple[int, ...]
    connection: ConnectionFactory
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False
    out_dim: int | None = 1  # None returns the last hidden state
    norm: str = "none"
    norm_position: str = "pre"

    @nn.compact
    def __call__(
        self, x_BxI: jax.Array, *, train: bool = False, mask_B: jax.Array | None = None
    ) -> jax.Array:
        def block(i: int, width: int):
            mlp = MLP(width, self.activation, self.dropout, self.batch_norm, name=f"block_{i}")
            return lambda x: mlp(x, train=train, mask_B=mask_B)

        tower = MLPTower(tuple(self.hidden), self.activation, self.dropout, self.batch_norm)
        h = residual_stack(
            x_BxI,
            [block(i, w) for i, w in enumerate(self.hidden)],
            self.connection,
            train=train,
            norm=self.norm,
            norm_position=self.norm_position,
            mask_B=mask_B,
            mlp_tower=tower,
        )
        return h if self.out_dim is None else nn.Dense(self.out_dim, name="out")(h)
