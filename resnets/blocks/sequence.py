"""Residual wrapper for sequence blocks: x → block(x) → Dense(zero init) → connection(hist, δ).

The pattern `GRU → Dense(zero init) → x + δ`: the zero-initialised projection maps the block's
output (any width, e.g. 2·hidden for a bidirectional GRU) back to width(x) and makes δ = 0 at
init, so with identity-like families the layer starts as the identity map.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax

from resnets.factory import ConnectionFactory


class SequenceResidual(nn.Module):
    """h = connection(hist, Dense(block(x))) with x = hist[-1] and a zero-init Dense."""

    block: nn.Module
    connection: ConnectionFactory
    zero_init: bool = True

    @nn.compact
    def __call__(
        self, x: jax.Array, *, train: bool = False, hist: Sequence[jax.Array] | None = None
    ) -> jax.Array:
        hist = list(hist) if hist else [x]
        y = self.block(hist[-1], train=train)
        init = nn.initializers.zeros if self.zero_init else nn.initializers.lecun_normal()
        delta = nn.Dense(hist[-1].shape[-1], kernel_init=init, name="delta")(y)
        return self.connection(name="conn")(hist, delta, train=train)
