"""Plain stack, no shortcut: h_{k+1} = f(x)."""

from collections.abc import Sequence

import flax.linen as nn
import jax


class NoConnection(nn.Module):
    """h_{k+1} = f(x): the plain network every family is compared against."""

    @nn.compact
    def __call__(self, hist: Sequence[jax.Array], fx: jax.Array, *, train: bool = False):
        del hist, train
        return fx
