"""LAuReL, the learned augmented residual layer (Menghani, Kumar & Kumar, ICML 2025,
arXiv 2411.07501).

General form (eq. 2): x_{i+1} = α f(x_i) + g(x_i, ..., x_0), g linear in the current and earlier
states (x_0 = stack input; a pre-norm is part of f). In row-vector form, with the low-rank
product B A x written x A B (A: D -> r, Xavier; B: r -> D, zero at init, §3.3), `variant` is:

  rw        α f(x_i) + β x_i                                        (§2.1)
  lr        f(x_i) + x_i + x_i A B                                  (eq. 3)
  pa        f(x_i) + x_i + Σ_{j<k} γ_j x_{i-j}                      (eq. 4, h = identity)
  rw+lr     α f(x_i) + β (x_i + x_i A B)                            (eq. 5)
  rw+pa     α f(x_i) + β (x_i + Σ_{j<k} γ_j x_{i-j})                (§2.4)
  lr+pa     f(x_i) + x_i + Σ_{j<k} γ_j x_{i-j} A_j B_j              (§2.4, eq. 6 without α, β)
  rw+lr+pa  α f(x_i) + β (x_i + Σ_{j<k} γ_j x_{i-j} A_j B_j)        (eq. 6)

k = `k_prev` states, the current one included (j = 0). With lr, the j = 0 read plays LR's part
and every j has its own product (Table 4: 2rkD + k parameters); PA with one low-rank h per j is
therefore `lr+pa`, not a separate option. (α, β) are bounded (`bound`): "softmax" (α, β) =
softmax(a, b) = (σ(a-b), σ(b-a)), "sigmoid" (σ(a), σ(b)), or "none" (raw, for the reduction
α = β = 1 to `identity`); `per_dim` makes them per channel (§2.4).

Initialisation where the paper is silent: logits a = b = 0, so bounded α = β = ½ (the bounded
forms cannot start as the identity residual; ½ f + ½ x is the symmetric start) and unbounded
α = β = 1. γ = 0 with identity reads (pa and rw+pa start as identity and rw) and γ = 1 with
low-rank reads, whose B = 0 already silences them (γ = 0 too would leave both without gradient).
Layers with fewer than k earlier states drop the missing terms (the paper does not say); the
parameters always hold k entries, so one shared instance serves every layer.

Width changes (resnets.stream.fit_width): each carried state of another width than f(x) is
mapped first by a learned bias-free projection, one per width (`projection_<width>`), shared by
the states of that width. scaled(w="lowrank") is `lr` with A, B under other names.
Logged: alpha and beta (or alpha_logit and beta_logit), gamma, lr_a, lr_b, pa_a, pa_b.
"""

from collections.abc import Sequence
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from resnets.factory import option_defaults
from resnets.scaled import channel_param
from resnets.stream import Stream, fit_width

VARIANTS = ("rw", "lr", "pa", "rw+lr", "rw+pa", "lr+pa", "rw+lr+pa")
BOUNDS = ("softmax", "sigmoid", "none")
USED_BY = {"bound": "rw", "per_dim": "rw", "rank": "lr", "k_prev": "pa"}  # option -> part


class LaurelConnection(Stream):
    """x_{i+1} = α f(x_i) + β (x_i + x_i A B + Σ_j γ_j h_j(x_{i-j})), parts by variant (LAuReL)."""

    learned: ClassVar[tuple[str, ...]] = (
        "alpha",
        "beta",
        "alpha_logit",
        "beta_logit",
        "gamma",
        "lr_a",
        "lr_b",
        "pa_a",
        "pa_b",
    )

    variant: str = "rw+lr"
    bound: str = "softmax"
    per_dim: bool = False
    rank: int = 4
    k_prev: int = 3

    @classmethod
    def check_options(cls, options, *, shared):
        opts = {**option_defaults(cls), **options}
        if opts["variant"] not in VARIANTS:
            raise ValueError(f"laurel: variant={opts['variant']!r}; choose from {VARIANTS}")
        if opts["bound"] not in BOUNDS:
            raise ValueError(f"laurel: bound={opts['bound']!r}; choose from {BOUNDS}")
        for name in ("rank", "k_prev"):
            if not isinstance(opts[name], int) or opts[name] < 1:
                raise ValueError(f"laurel: {name} must be an integer >= 1, got {opts[name]!r}")
        parts = opts["variant"].split("+")
        for name, part in USED_BY.items():
            if name in options and part not in parts:
                raise ValueError(
                    f"laurel: option {name!r} belongs to the {part!r} part, which variant "
                    f"{opts['variant']!r} does not have; drop it or pick a variant with {part!r}"
                )

    @nn.compact
    def __call__(self, hist: Sequence[jax.Array], fx: jax.Array, *, train: bool = False):
        del train
        parts = self.variant.split("+")
        d = fx.shape[-1]
        depth = min(self.k_prev, len(hist)) if "pa" in parts else 1
        window = self._fit([hist[-1 - j] for j in range(depth)], d)  # x_i, x_{i-1}, ...
        carry = window[0]
        if "pa" in parts:
            carry = carry + self._previous(window, d, lowrank="lr" in parts)
        elif "lr" in parts:
            a = self.param("lr_a", nn.initializers.xavier_uniform(), (d, self.rank))
            b = self.param("lr_b", nn.initializers.zeros, (self.rank, d))
            carry = carry + (window[0] @ a) @ b
        if "rw" not in parts:
            return fx + carry
        alpha, beta = self._weights(d, fx.ndim)
        return alpha * fx + beta * carry

    def _previous(self, window: list[jax.Array], d: int, lowrank: bool) -> jax.Array:
        """Σ_j γ_j h_j(x_{i-j}) over the states at hand (h_j = x A_j B_j or the identity)."""
        m = len(window)
        gamma = self.param("gamma", nn.initializers.constant(float(lowrank)), (self.k_prev,))
        s_JxBxD = jnp.stack(window)
        if lowrank:
            shape = (self.k_prev, d, self.rank)
            a = self.param("pa_a", nn.initializers.xavier_uniform(batch_axis=(0,)), shape)
            b = self.param("pa_b", nn.initializers.zeros, (self.k_prev, self.rank, d))
            s_JxBxR = jnp.einsum("j...d,jdr->j...r", s_JxBxD, a[:m])
            s_JxBxD = jnp.einsum("j...r,jrd->j...d", s_JxBxR, b[:m])
        return jnp.tensordot(gamma[:m], s_JxBxD, axes=1)

    def _weights(self, d: int, ndim: int) -> tuple[jax.Array, jax.Array]:
        kind = "channel" if self.per_dim else "scalar"
        if self.bound == "none":
            alpha = channel_param(self, "alpha", kind, d, 1.0, ndim)
            return alpha, channel_param(self, "beta", kind, d, 1.0, ndim)
        a = channel_param(self, "alpha_logit", kind, d, 0.0, ndim)
        b = channel_param(self, "beta_logit", kind, d, 0.0, ndim)
        if self.bound == "sigmoid":
            return nn.sigmoid(a), nn.sigmoid(b)
        return nn.sigmoid(a - b), nn.sigmoid(b - a)  # softmax over the pair (a, b)

    def _fit(self, states: list[jax.Array], d: int) -> list[jax.Array]:
        """Every state at width d: one projection per foreign width, shared by its states."""
        out = list(states)
        for width in sorted({s.shape[-1] for s in states} - {d}):
            at = [j for j, s in enumerate(states) if s.shape[-1] == width]
            mapped = fit_width(self, jnp.stack([states[j] for j in at]), d, f"projection_{width}")
            for n, j in enumerate(at):
                out[j] = mapped[n]
        return out
