"""Product-unit block: f(x) = W (x ⊙ c) + b (Hadamard) or W vec(x ⊗ c) + b (outer product).

Multiplicative interactions with a context vector c, as in the product layers of PNN (Qu et al.
2016, eq. 5-6, inner/outer products) and the Hadamard gating of FiBiNET's bilinear layer; c is a
learned vector (init 1, so the Hadamard form starts as a linear layer) or given per example.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

MODES = ("hadamard", "outer")


class Product(nn.Module):
    """f(x) = W (x ⊙ c) + b, or W vec(x ⊗ c) + b; c learned (`context_dim`) or passed in."""

    width: int
    mode: str = "hadamard"
    context_dim: int = 4  # size of a learned context in "outer" mode

    @nn.compact
    def __call__(
        self, x: jax.Array, *, train: bool = False, context: jax.Array | None = None
    ) -> jax.Array:
        del train
        if self.mode not in MODES:
            raise ValueError(f"product: mode must be one of {MODES}, got {self.mode!r}")
        if context is None:
            size = x.shape[-1] if self.mode == "hadamard" else self.context_dim
            context = self.param("context", nn.initializers.ones, (size,))
            context = jnp.broadcast_to(context, x.shape[:-1] + (size,))
        if self.mode == "hadamard":
            z = x * context
        else:
            z = (x[..., :, None] * context[..., None, :]).reshape(x.shape[:-1] + (-1,))
        return nn.Dense(self.width)(z)
