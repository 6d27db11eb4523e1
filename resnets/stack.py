"""A residual stack of depth L: h_{k+1} = connection(hist, block(hist[-1]))."""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax

from resnets.blocks.mlp import MLP
from resnets.dag import dag_tower
from resnets.factory import ConnectionFactory


class ResidualStack(nn.Module):
    """Applies `depth` blocks, each merged into the running state by its connection.

    `block(name=...)` builds a block module called as `block(x, train=train)`; `connection` is a
    `ConnectionFactory` (see `resnets.get`). Returns the last state h_L. The `dag` family replaces
    the whole stack by one DagTower of the MLP block's width (only MLP blocks have neurons to wire).
    """

    block: Callable[..., nn.Module]
    connection: ConnectionFactory
    depth: int

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        if self.depth < 0:
            raise ValueError(f"depth must be >= 0, got {self.depth}")
        if self.connection.family == "dag" and self.depth > 0:
            mlp = self.block(parent=None)
            if not isinstance(mlp, MLP):
                raise ValueError(f"dag needs MLP blocks, got {type(mlp).__name__}")
            hidden = (mlp.width,) * self.depth
            tower = dag_tower(
                self.connection, hidden, mlp.activation, mlp.dropout, mlp.batch_norm, name="dag"
            )
            return tower(x, train=train)
        shared = self.connection(name="conn") if self.connection.shared else None
        hist = [x]
        for i in range(self.depth):
            fx = self.block(name=f"block_{i}")(hist[-1], train=train)
            conn = shared or self.connection(name=f"conn_{i}")
            hist.append(conn(hist, fx, train=train))
        return hist[-1]
