"""MLP block f(x) = dropout(act(norm(W x + b))), the branch of a residual MLP tower.

BatchNorm sits between the dense layer and the activation, the placement of BARS/FuxiCTR's
MLP_Block, so the published towers are reproduced exactly.
"""

from __future__ import annotations

import flax.linen as nn
import jax

ACTIVATIONS = {
    "relu": nn.relu,
    "gelu": nn.gelu,
    "leaky_relu": nn.leaky_relu,
    "tanh": nn.tanh,
    "sigmoid": nn.sigmoid,
}


class MLP(nn.Module):
    """act(BN(W x + b)) with optional BatchNorm and dropout."""

    width: int
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}; choose from {sorted(ACTIVATIONS)}"
            )
        y = nn.Dense(self.width)(x)
        if self.batch_norm:
            y = nn.BatchNorm(use_running_average=not train, momentum=0.9)(y)
        y = ACTIVATIONS[self.activation](y)
        return nn.Dropout(self.dropout, deterministic=not train)(y)
