"""MLR block: a piecewise-linear mixture (Gai et al. 2017, "Large Scale Piece-wise Linear Model",
eq. 2), f(x) = Σ_m softmax(U x)_m · (W_m x + b_m), a soft partition of the input space into
`pieces` regions with one linear model each.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp


class MLR(nn.Module):
    """f(x) = Σ_m softmax(U x)_m (W_m x + b_m) with `pieces` linear experts of output `width`."""

    width: int
    pieces: int = 4

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        del train
        weights = nn.softmax(nn.Dense(self.pieces, name="router")(x), axis=-1)  # (..., M)
        kernel = self.param(
            "experts", nn.initializers.lecun_normal(), (self.pieces, x.shape[-1], self.width)
        )
        bias = self.param("experts_bias", nn.initializers.zeros, (self.pieces, self.width))
        experts = jnp.einsum("...i,mio->...mo", x, kernel)  # (..., M, width)
        experts = experts + bias.reshape((1,) * (x.ndim - 1) + bias.shape)
        return jnp.einsum("...m,...mo->...o", weights, experts)
