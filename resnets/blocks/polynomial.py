"""Polynomial-feature block: f(x) = W [x, x², √|x|, log(1+|x|)] + b.

A fixed nonlinear basis instead of a learned activation (the "nonlinear generalisations" of the
residual branch in DESIGN.md); the square root is √(|x| + ε) − √ε so its gradient is finite at 0.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

EPS = 1e-6


def features(x: jax.Array) -> jax.Array:
    ax = jnp.abs(x)
    return jnp.concatenate([x, x * x, jnp.sqrt(ax + EPS) - jnp.sqrt(EPS), jnp.log1p(ax)], axis=-1)


class Polynomial(nn.Module):
    """f(x) = W [x, x², √|x|, log(1+|x|)] + b."""

    width: int

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        del train
        return nn.Dense(self.width)(features(x))
