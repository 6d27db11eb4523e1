"""Identity shortcut (He et al. 2016, "Deep Residual Learning", eq. 1-2).

h_{k+1} = x + f(x); when widths differ, h_{k+1} = P x + f(x) with a learned projection P (eq. 2,
no bias), the paper's option B.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax


class IdentityConnection(nn.Module):
    """h_{k+1} = x + f(x); P·x + f(x) with a learned P (no bias) when widths differ."""

    @nn.compact
    def __call__(self, hist: Sequence[jax.Array], fx: jax.Array, *, train: bool = False):
        del train
        x = hist[-1]
        if x.shape[-1] != fx.shape[-1]:
            x = nn.Dense(fx.shape[-1], use_bias=False, name="projection")(x)
        return x + fx
