"""The MLP tower of DNN-family CTR models, with a residual connection at every layer.

h_0 = input, h_{k+1} = connection(hist, MLP_k(h_k)) for k < len(hidden), then an optional
final Dense(out_dim). With connection `none` this is the plain published tower (BARS MLP_Block).
`norm` ("none" | "bn" | "ln") at `norm_position` "pre" gives h_{k+1} = conn(hist,
MLP_k(Norm_k(h_k))), at "post" h_{k+1} = Norm_k(conn(hist, MLP_k(h_k))) (resnets/norm.py);
`batch_norm` is the separate BARS in-block BN (Dense -> BN -> act inside MLP_k). `mask_B`
(1 = real row) keeps the padding rows of a ragged batch out of every BatchNorm's statistics.
The dag family has no per-layer states, so it rejects norm != "none".
"""

from __future__ import annotations

from functools import partial

import flax.linen as nn
import jax

from resnets import ConnectionFactory
from resnets.blocks import MLP
from resnets.dag import dag_tower
from resnets.norm import check_norm, reject_dag_norm, residual_layer


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
        check_norm(self.norm, self.norm_position)
        if self.connection.family == "dag" and self.hidden:
            reject_dag_norm(self.norm)
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
        norm_kw = dict(norm=self.norm, position=self.norm_position, train=train, mask_B=mask_B)
        hist = [x_BxI]
        for i, width in enumerate(self.hidden):
            block = MLP(width, self.activation, self.dropout, self.batch_norm, name=f"block_{i}")
            conn = shared or self.connection(name=f"conn_{i}")
            f = partial(block, train=train, mask_B=mask_B)
            hist.append(residual_layer(hist, f, conn, **norm_kw, name=f"norm_{i}"))
        if self.out_dim is None:
            return hist[-1]
        return nn.Dense(self.out_dim, name="out")(hist[-1])
