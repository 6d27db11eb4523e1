"""MLP block f(x) = act(W x + b), the branch of a residual MLP tower."""

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
    """act(W x + b) with optional dropout."""

    width: int
    activation: str = "relu"
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}; choose from {sorted(ACTIVATIONS)}"
            )
        y = ACTIVATIONS[self.activation](nn.Dense(self.width)(x))
        return nn.Dropout(self.dropout, deterministic=not train)(y)
