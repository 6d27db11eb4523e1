"""Hyper-connections (Zhu et al., ICLR 2025, "Hyper-Connections", arXiv 2409.19606).

The residual stream is widened to n streams, a hidden matrix H ∈ R^{n×d} (rows = streams; here
h_...xNxD, the stream axis just before the feature axis). The stack input is copied into the n
streams; layer k reads a learned mix of them and writes its output back into every stream:

    x   = A_mᵀ H                       (eq. 3; A_m ∈ R^{n×1})
    H'  = Bᵀ f(x) + A_rᵀ H             (eq. 2, 4-5; B ∈ R^{1×n}, A_r ∈ R^{n×n})
    out = Σ_i H_i                      (§2.1; `readout_mode="mean"` divides by n)

A_r[i, j] carries stream i into stream j. Static HC (`dynamic=False`, the default here; the
paper's experiments default to dynamic) learns A_m, A_r, B as plain parameters. Dynamic HC
(eq. 10-13) adds input-dependent terms from the per-stream normalised streams H̄ = norm(H):
    B(H) = s_β tanh(H̄ W_β)ᵀ + B,    [A_m A_r](H) = s_α tanh(H̄ [W_m W_r]) + [A_m A_r],
so row i of A_r(H) depends on stream i only (`tanh=False`: the paper's no-tanh ablation).

Initialisation (§2.3, eq. 14): A_m = e_{k mod n}, k = the layer's position in its stack (counted
in the state; a shared instance takes layer 0's), A_r = I, B = 1, W = 0, s_α = s_β = 0.01, norm
scale 1. At init every stream equals the pre-norm residual state h_k, layer k reads exactly h_k,
and the readout is n·h_L; with n = 1 the stack is the pre-norm residual h + f(h) (eq. 15),
bitwise. The paper also divides the init std of every block's output projection by √n; that is
a block option and is not done here.

Parameters: `static_alpha` = [A_m | A_r] (n × (n+1)), `static_beta` = B (n); dynamic only:
`dynamic_alpha_fn` ([W_m W_r], d × (n+1)), `dynamic_alpha_scale` (s_α), `dynamic_beta_fn` (W_β,
d), `dynamic_beta_scale` (s_β), `stream_norm` (LayerNorm without bias, or RMSNorm; the paper's
pseudocode uses LayerNorm, mHC restates HC with RMSNorm). The dynamic weights' batch means are
sown as intermediates `alpha` and `beta`.

Not in the paper: a width change (f(x) wider or narrower than H, the first layer of an MLP
tower) maps every stream by one learned bias-free projection P shared by the streams (He et al.
option B, as `identity`); post-norm and a slot's post-merge function act on every stream, which
with n = 1 is the post-norm residual.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from resnets.stream import StateStream, fit_width

READOUTS = ("sum", "mean")
STREAM_NORMS = ("layer", "rms")


class Streams(NamedTuple):
    """The state of a multi-stream family: n streams h_...xNxD, and the layers written so far."""

    h: jax.Array
    layer: int


class MultiStream(StateStream):
    """hyper and mhc: h0 copied into n streams; out = sum (or mean) of the streams."""

    family_name: ClassVar[str]
    # a stack that is one block of a longer one (a Transformer block) reads out the streams'
    # mean: a sum would multiply the residual stream by n at every block
    nested: ClassVar[dict] = {"readout_mode": "mean"}

    n: int = 4
    readout_mode: str = "sum"

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"{self.family_name}: n (streams) must be an int >= 1, got {self.n!r}")
        if self.readout_mode not in READOUTS:
            raise ValueError(
                f"{self.family_name}: readout_mode must be one of {READOUTS}, "
                f"got {self.readout_mode!r}"
            )

    def init_step(self, h0: jax.Array) -> Streams:
        shape = (*h0.shape[:-1], self.n, h0.shape[-1])
        return Streams(jnp.broadcast_to(h0[..., None, :], shape), 0)

    def readout_step(self, state: Streams) -> jax.Array:
        return self.current(state)

    @nn.nowrap
    def transform(self, state: Streams, fn) -> Streams:
        return state._replace(h=fn(state.h))

    @nn.nowrap
    def current(self, state: Streams) -> jax.Array:
        total = state.h.sum(axis=-2)
        return total / self.n if self.readout_mode == "mean" else total

    def sow_mean(self, name: str, value: jax.Array, lead: int) -> None:
        """Sows the mean over the `lead` batch axes of an input-dependent mixing weight."""
        if self.is_mutable_collection("intermediates"):
            self.sow("intermediates", name, value.mean(axis=tuple(range(lead))))


def mix(weights: jax.Array, h: jax.Array, out_streams: jax.Array, fx: jax.Array) -> jax.Array:
    """H' with H'_j = Σ_i weights[i, j] H_i + out_streams[j] f(x) (batched over leading axes)."""
    return jnp.einsum("...ij,...id->...jd", weights, h) + out_streams[..., None] * fx[..., None, :]


def read_mix(in_streams: jax.Array, h: jax.Array) -> jax.Array:
    """x = Σ_i in_streams[i] H_i (batched over leading axes)."""
    return jnp.einsum("...n,...nd->...d", in_streams, h)


def _static_alpha_init(key, shape, *, layer: int):
    del key
    n = shape[0]
    a_m = np.zeros((n, 1), np.float32)
    a_m[layer % n] = 1.0
    return jnp.asarray(np.concatenate([a_m, np.eye(n, dtype=np.float32)], axis=1))


class HyperConnection(MultiStream):
    """x = A_mᵀH, H' = A_rᵀH + Bᵀf(x) over n streams (dynamic: + s·tanh(norm(H)W)); out Σ_i H_i."""

    family_name = "hyper"
    learned: ClassVar[tuple[str, ...]] = (
        "static_alpha",
        "static_beta",
        "dynamic_alpha_scale",
        "dynamic_beta_scale",
    )

    dynamic: bool = False
    tanh: bool = True
    stream_norm: str = "layer"

    def __post_init__(self):
        super().__post_init__()
        if self.stream_norm not in STREAM_NORMS:
            raise ValueError(
                f"hyper: stream_norm must be one of {STREAM_NORMS}, got {self.stream_norm!r}"
            )

    def read_step(self, state: Streams) -> jax.Array:
        alpha, _ = self._weights(state)
        return read_mix(alpha[..., 0], state.h)

    def write_step(self, state: Streams, fx: jax.Array, *, train: bool) -> Streams:
        del train
        alpha, beta = self._weights(state)
        if self.dynamic:
            lead = state.h.ndim - 2
            self.sow_mean("alpha", alpha, lead)
            self.sow_mean("beta", beta, lead)
        h = fit_width(self, state.h, fx.shape[-1])  # P commutes with the stream mix
        return Streams(mix(alpha[..., 1:], h, beta, fx), state.layer + 1)

    def _weights(self, state: Streams) -> tuple[jax.Array, jax.Array]:
        """[A_m | A_r] (... × n × (n+1)) and B (... × n) for the state's leading axes."""
        n, d, lead = self.n, state.h.shape[-1], state.h.ndim - 2
        init = partial(_static_alpha_init, layer=state.layer)
        alpha = self.param("static_alpha", init, (n, n + 1))
        beta = self.param("static_beta", nn.initializers.ones, (n,))
        alpha, beta = alpha.reshape((1,) * lead + alpha.shape), beta.reshape((1,) * lead + (n,))
        if not self.dynamic:
            return alpha, beta
        if self.stream_norm == "layer":
            h_bar = nn.LayerNorm(use_bias=False, name="stream_norm")(state.h)
        else:
            h_bar = nn.RMSNorm(name="stream_norm")(state.h)
        squash = jnp.tanh if self.tanh else (lambda z: z)
        w_alpha = self.param("dynamic_alpha_fn", nn.initializers.zeros, (d, n + 1))
        s_alpha = self.param("dynamic_alpha_scale", nn.initializers.constant(0.01), ())
        w_beta = self.param("dynamic_beta_fn", nn.initializers.zeros, (d,))
        s_beta = self.param("dynamic_beta_scale", nn.initializers.constant(0.01), ())
        return alpha + s_alpha * squash(h_bar @ w_alpha), beta + s_beta * squash(h_bar @ w_beta)
