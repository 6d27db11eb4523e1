"""The MLP tower of DNN-family CTR models, with a residual connection at every layer.

h_0 = input, h_{k+1} = connection(hist, MLP_k(h_k)) for k < len(hidden), then an optional
final Dense(out_dim). With connection `none` this is the plain published tower (BARS MLP_Block).
"""

from __future__ import annotations

import flax.linen as nn
import jax

from resnets import ConnectionFactory
from resnets.blocks import MLP
from resnets.dag import dag_tower


class Tower(nn.Module):
    hidden: tuple[int, ...]
    connection: ConnectionFactory
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False
    out_dim: int | None = 1  # None returns the last hidden state

    @nn.compact
    def __call__(self, x_BxI: jax.Array, *, train: bool = False) -> jax.Array:
        if self.connection.family == "dag" and self.hidden:
            # dag rewires the whole tower as one neuron-level graph, not layer by layer.
            h = dag_tower(
                self.connection,
                self.hidden,
                self.activation,
                self.dropout,
                self.batch_norm,
                name="dag",
            )(x_BxI, train=train)
            return h if self.out_dim is None else nn.Dense(self.out_dim, name="out")(h)
        shared = self.connection(name="conn") if self.connection.shared else None
        hist = [x_BxI]
        for i, width in enumerate(self.hidden):
            block = MLP(width, self.activation, self.dropout, self.batch_norm, name=f"block_{i}")
            conn = shared or self.connection(name=f"conn_{i}")
            hist.append(conn(hist, block(hist[-1], train=train), train=train))
        if self.out_dim is None:
            return hist[-1]
        return nn.Dense(self.out_dim, name="out")(hist[-1])
