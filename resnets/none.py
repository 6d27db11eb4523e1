"""Plain stack, no shortcut: h_{k+1} = f(x)."""

from collections.abc import Sequence

import flax.linen as nn
import jax

from resnets.stream import Stream


class NoConnection(Stream):
    """h_{k+1} = f(x): the plain network every family is compared against."""

    plain = True

    @nn.compact
    def __call__(self, hist: Sequence[jax.Array], fx: jax.Array, *, train: bool = False):
        del hist, train
        return fx
