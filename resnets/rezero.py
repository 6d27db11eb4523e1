"""ReZero (Bachlechner et al. 2021, "ReZero is All You Need", eq. 3): h_{k+1} = x + β f(x).

β starts at 0 so every layer is the identity at init and the signal propagates through any
depth; the carry weight is fixed at 1. It is `scaled` with beta_init=0 and w="one".
"""

from collections.abc import Sequence

import flax.linen as nn
import jax

from resnets.scaled import channel_param
from resnets.stream import Stream, fit_width


class ReZeroConnection(Stream):
    """h_{k+1} = x + β ⊙ f(x) with β init 0 (scalar or per-channel)."""

    learned = ("beta",)

    beta: str = "scalar"
    beta_init: float = 0.0

    @nn.compact
    def __call__(self, hist: Sequence[jax.Array], fx: jax.Array, *, train: bool = False):
        del train
        d = fx.shape[-1]
        return (
            fit_width(self, hist[-1], d)
            + channel_param(self, "beta", self.beta, d, self.beta_init, fx.ndim) * fx
        )
