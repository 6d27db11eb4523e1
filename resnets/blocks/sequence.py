"""Residual wrapper for sequence blocks: x → block(x) → Dense(zero init) → merged by the family.

The pattern `GRU → Dense(zero init) → x + δ`: the zero-initialised projection maps the block's
output (any width, e.g. 2·hidden for a bidirectional GRU) back to width(x) and makes δ = 0 at
init, so with identity-like families the layer starts as the identity map. It is a one-layer
residual stack (resnets.residual_stack, connection `conn`), nested: one block of a longer stack.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from resnets.factory import ConnectionFactory
from resnets.stack import residual_stack


class SequenceResidual(nn.Module):
    """One residual layer: the family merges Dense(block(x)) (zero-init Dense) into x."""

    block: nn.Module
    connection: ConnectionFactory
    zero_init: bool = True

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        init = nn.initializers.zeros if self.zero_init else nn.initializers.lecun_normal()
        delta = nn.Dense(x.shape[-1], kernel_init=init, name="delta")

        def branch(h: jax.Array) -> jax.Array:
            return delta(self.block(h, train=train))

        return residual_stack(x, [branch], self.connection, train=train, names=[""], nested=True)
