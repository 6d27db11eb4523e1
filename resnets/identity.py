"""Identity shortcut (He et al. 2016, "Deep Residual Learning", eq. 1-2).

h_{k+1} = x + f(x); when widths differ, h_{k+1} = P x + f(x) with a learned projection P (eq. 2,
no bias), the paper's option B.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax

from resnets.stream import Stream, fit_width


class IdentityConnection(Stream):
    """h_{k+1} = x + f(x); P·x + f(x) with a learned P (no bias) when widths differ."""

    @nn.compact
    def __call__(self, hist: Sequence[jax.Array], fx: jax.Array, *, train: bool = False):
        del train
        return fit_width(self, hist[-1], fx.shape[-1]) + fx
