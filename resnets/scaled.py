"""Scaled shortcut: h_{k+1} = β ⊙ f(x) + w ⊙ x.

β is a scalar or per-channel (β0 = 0 is ReZero, Bachlechner et al. 2020, eq. 3). w is fixed 1,
a scalar, per-channel, low rank w·x = w0·x + (x A) B (w0 = `w_init`, A = `w_a`, B = `w_b` = 0 at
init, so the carry starts as w0·x), or a full matrix w·x = x W (init w0·I, not a LAuReL form).
Scalar β and w are LAuReL-RW (Menghani et al., ICML 2025, §2.1) without its bound on (α, β);
the low-rank w with β = 1, w0 = 1 is LAuReL-LR (eq. 3). The bounded, previous-activation and
combined LAuReL forms are the `laurel` family. When widths differ, x is first projected by a
learned P (no bias), as in `identity`. With β = 1 and w = "one" this is exactly `identity`.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from resnets.stream import Stream, fit_width

BETA_KINDS = ("scalar", "channel")
W_KINDS = ("one", "scalar", "channel", "lowrank", "full")


def channel_param(module: nn.Module, name: str, kind: str, width: int, init: float, ndim: int):
    """A scalar or (1, ..., 1, width) parameter filled with `init`, broadcastable to rank ndim.

    Stored as () or (width,); reshaped here because tests forbid implicit rank promotion.
    """
    shape = () if kind == "scalar" else (width,)
    p = module.param(name, nn.initializers.constant(init), shape)
    return p if kind == "scalar" else p.reshape((1,) * (ndim - 1) + (width,))


class ScaledConnection(Stream):
    """h_{k+1} = β ⊙ f(x) + w ⊙ x; β scalar|channel, w one|scalar|channel|lowrank|full."""

    learned = ("beta", "w", "w_a", "w_b")

    beta: str = "scalar"
    beta_init: float = 1.0
    w: str = "one"
    w_init: float = 1.0
    rank: int = 4

    @nn.compact
    def __call__(self, hist: Sequence[jax.Array], fx: jax.Array, *, train: bool = False):
        del train
        if self.beta not in BETA_KINDS or self.w not in W_KINDS:
            raise ValueError(
                f"scaled: beta must be one of {BETA_KINDS} and w one of {W_KINDS}, "
                f"got beta={self.beta!r}, w={self.w!r}"
            )
        d = fx.shape[-1]
        x = fit_width(self, hist[-1], d)
        beta = channel_param(self, "beta", self.beta, d, self.beta_init, fx.ndim)
        return beta * fx + self._carry(x, d)

    def _carry(self, x: jax.Array, d: int) -> jax.Array:
        if self.w == "one":
            return x
        if self.w in ("scalar", "channel"):
            return channel_param(self, "w", self.w, d, self.w_init, x.ndim) * x
        if self.w == "lowrank":
            # w = w_init·I + A B with B = 0, so the carry starts as w_init·x and A still learns.
            a = self.param("w_a", nn.initializers.lecun_normal(), (d, self.rank))
            b = self.param("w_b", nn.initializers.zeros, (self.rank, d))
            return self.w_init * x + (x @ a) @ b
        eye = lambda key, shape: self.w_init * jnp.eye(shape[0])
        return x @ self.param("w", eye, (d, d))
