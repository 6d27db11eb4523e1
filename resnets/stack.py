"""A residual stack of depth L: h_{k+1} = connection(hist, block(hist[-1])).

With `norm` ("none" | "bn" | "ln", resnets/norm.py) at `norm_position` "pre":
h_{k+1} = connection(hist, block(Norm_k(h_k))); at "post": h_{k+1} = Norm_k(connection(hist,
block(h_k))).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import flax.linen as nn
import jax

from resnets.blocks.mlp import MLP
from resnets.dag import dag_tower
from resnets.factory import ConnectionFactory
from resnets.norm import check_norm, reject_dag_norm, residual_layer


class ResidualStack(nn.Module):
    """Applies `depth` blocks, each merged into the running state by its connection.

    `block(name=...)` builds a block module called as `block(x, train=train)`; `connection` is a
    `ConnectionFactory` (see `resnets.get`). Returns the last state h_L. The `dag` family replaces
    the whole stack by one DagTower of the MLP block's width (only MLP blocks have neurons to wire).
    `mask_B` (1 = real row) keeps padding rows out of the stack's BatchNorm statistics.
    """

    block: Callable[..., nn.Module]
    connection: ConnectionFactory
    depth: int
    norm: str = "none"
    norm_position: str = "pre"

    @nn.compact
    def __call__(
        self, x: jax.Array, *, train: bool = False, mask_B: jax.Array | None = None
    ) -> jax.Array:
        if self.depth < 0:
            raise ValueError(f"depth must be >= 0, got {self.depth}")
        check_norm(self.norm, self.norm_position)
        if self.connection.family == "dag" and self.depth > 0:
            reject_dag_norm(self.norm)
            mlp = self.block(parent=None)
            if not isinstance(mlp, MLP):
                raise ValueError(f"dag needs MLP blocks, got {type(mlp).__name__}")
            hidden = (mlp.width,) * self.depth
            tower = dag_tower(
                self.connection, hidden, mlp.activation, mlp.dropout, mlp.batch_norm, name="dag"
            )
            return tower(x, train=train)
        shared = self.connection(name="conn") if self.connection.shared else None
        norm_kw = dict(norm=self.norm, position=self.norm_position, train=train, mask_B=mask_B)
        hist = [x]
        for i in range(self.depth):
            module = self.block(name=f"block_{i}")
            # MLP blocks hold the BatchNorm/Dice that must skip padding rows; others take no mask
            masked = {"mask_B": mask_B} if isinstance(module, MLP) else {}
            block = partial(module, train=train, **masked)
            conn = shared or self.connection(name=f"conn_{i}")
            hist.append(residual_layer(hist, block, conn, **norm_kw, name=f"norm_{i}"))
        return hist[-1]
