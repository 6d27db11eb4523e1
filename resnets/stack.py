"""A residual stack of depth L: h_{k+1} = connection(hist, block(hist[-1]))."""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax

from resnets.factory import ConnectionFactory


class ResidualStack(nn.Module):
    """Applies `depth` blocks, each merged into the running state by its connection.

    `block(name=...)` builds a block module called as `block(x, train=train)`; `connection` is a
    `ConnectionFactory` (see `resnets.get`). Returns the last state h_L.
    """

    block: Callable[..., nn.Module]
    connection: ConnectionFactory
    depth: int

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        if self.depth < 0:
            raise ValueError(f"depth must be >= 0, got {self.depth}")
        shared = self.connection(name="conn") if self.connection.shared else None
        hist = [x]
        for i in range(self.depth):
            fx = self.block(name=f"block_{i}")(hist[-1], train=train)
            conn = shared or self.connection(name=f"conn_{i}")
            hist.append(conn(hist, fx, train=train))
        return hist[-1]
