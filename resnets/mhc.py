"""Manifold-constrained hyper-connections, mHC (Xie et al. 2025, DeepSeek, arXiv 2512.24880).

Hyper-connections (resnets.hyper) in mHC's notation: n streams x_l ∈ R^{n×C}, and

    x_{l+1} = H_res x_l + H_postᵀ F(H_pre x_l)                      (eq. 3)

with the three mappings computed from the RMS-normalised flattened streams x' = RMSNorm(vec x_l)
(one parameter-free norm over all nC entries, eq. 7 with the norm's weight folded into φ as in
§4.3.1):

    H̃_pre  = α_pre  · x' φ_pre       + b_pre          H_pre  = σ(H̃_pre)        (1 × n)
    H̃_post = α_post · x' φ_post      + b_post         H_post = 2σ(H̃_post)      (1 × n)
    H̃_res  = α_res  · mat(x' φ_res)  + b_res          H_res  = SK(H̃_res)       (n × n, eq. 8)

H_res[i, j] carries stream j into stream i (the transpose of hyper's A_r); mat is a row-major
reshape. SK (`sinkhorn_knopp`, eq. 9) is exp followed by `sinkhorn_iters` (20) rounds of column
then row normalisation, run here in the log domain; it ends on a row normalisation, so rows sum
to 1 to rounding while columns only converge to 1: geometrically, and slowly when exp(H̃_res) is
close to a permutation matrix (n = 4, worst of 5000+ draws: from the diagonal-heavy init below
plus N(0, 0.1²) logit noise, 20 rounds leave a column sum 2e-3 off; for N(0, 2²) logits, 4e-2).
The stack input is copied into the n streams and the readout sums them, as in HC (the mHC paper
describes neither; `readout_mode="mean"` divides by n).

Initialisation (the paper states only α = 0.01, Table 5; the rest is chosen here so the stack
starts as the pre-norm residual): φ = 0, so every mapping starts at its bias;
b_pre = logit(1/n) = -log(n-1), so H_pre = 1/n and the read is exactly the (identical) stream
(n = 1: b_pre = 0, a read of h/2, which a pre-norm removes); b_post = 0, so H_post = 1;
b_res = c·I with c = log((n-1)·p/(1-p)), p = `res_diag` (0.95), so H_res has p on its diagonal
and (1-p)/(n-1) elsewhere (exp(c·I) has equal row and column sums, so SK is exact at init);
`res_diag = 1/n` gives the uniform J/n. Any row-stochastic H_res keeps identical streams
identical, so at init every read equals the pre-norm residual state h_k to float rounding and
the readout is n·h_L. mHC's ablation (Table 1) fixes its disabled mappings at H_pre = 1/n,
H_post = 1, H_res = I; this init is that with H_res's diagonal relaxed to p.

Parameters: `phi_pre`, `phi_post`, `phi_res` (nC × n, n, n²), `alpha_pre`, `alpha_post`,
`alpha_res` (scalars), `b_pre`, `b_post` (n), `b_res` (n × n: its SK image is the static part of
H_res, the heatmap to watch); the batch-mean H_res is sown as intermediates `h_res`.
Width changes, post-norm and post-merge functions are handled as in resnets.hyper.
"""

from __future__ import annotations

from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from resnets.hyper import MultiStream, Streams, mix, read_mix
from resnets.stream import fit_width

RMS_EPS = 1e-6  # not stated in the paper; flax's RMSNorm default


def sinkhorn_knopp(logits: jax.Array, iters: int) -> jax.Array:
    """SK(logits): exp(logits) scaled to (approximately) doubly stochastic over the last two axes
    by `iters` rounds of column then row normalisation (mHC eq. 9), in the log domain."""

    def round_(z, _):
        z = z - logsumexp(z, axis=-2, keepdims=True)
        return z - logsumexp(z, axis=-1, keepdims=True), None

    z, _ = jax.lax.scan(round_, logits, None, length=iters)
    return jnp.exp(z)


def rms_flat(h: jax.Array) -> jax.Array:
    """x' = RMSNorm(vec H) per row: the n streams flattened, without a learned weight."""
    flat = h.reshape(*h.shape[:-2], -1)
    return flat * jax.lax.rsqrt(jnp.mean(flat**2, axis=-1, keepdims=True) + RMS_EPS)


def res_bias(n: int, res_diag: float) -> np.ndarray:
    """b_res = c·I with SK(b_res) = p on the diagonal, (1-p)/(n-1) elsewhere (zeros for n = 1)."""
    if n == 1:
        return np.zeros((1, 1), np.float32)
    c = np.log((n - 1) * res_diag / (1.0 - res_diag))
    return (c * np.eye(n)).astype(np.float32)


class ManifoldHyperConnection(MultiStream):
    """x = σ(H̃_pre)H, H' = SK(H̃_res)H + 2σ(H̃_post)ᵀf(x), H̃ = α·(RMS(vec H)φ) + b; out Σ_i H_i."""

    family_name = "mhc"
    learned: ClassVar[tuple[str, ...]] = (
        "alpha_pre",
        "alpha_post",
        "alpha_res",
        "b_pre",
        "b_post",
        "b_res",
    )

    sinkhorn_iters: int = 20
    res_diag: float = 0.95

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.sinkhorn_iters, int) or self.sinkhorn_iters < 1:
            raise ValueError(
                f"mhc: sinkhorn_iters must be an int >= 1, got {self.sinkhorn_iters!r}"
            )
        if not 0.0 < self.res_diag < 1.0:
            raise ValueError(
                f"mhc: res_diag (the diagonal of H_res at init) must lie in (0, 1), got "
                f"{self.res_diag!r}; 1/n gives the uniform matrix"
            )

    def read_step(self, state: Streams) -> jax.Array:
        pre_bias = 0.0 if self.n == 1 else -np.log(self.n - 1.0)
        h_pre = jax.nn.sigmoid(self._logits(rms_flat(state.h), "pre", (self.n,), pre_bias))
        return read_mix(h_pre, state.h)

    def write_step(self, state: Streams, fx: jax.Array, *, train: bool) -> Streams:
        del train
        n, normed = self.n, rms_flat(state.h)
        h_post = 2.0 * jax.nn.sigmoid(self._logits(normed, "post", (n,), 0.0))
        res_logits = self._logits(normed, "res", (n, n), res_bias(n, self.res_diag))
        h_res = sinkhorn_knopp(res_logits, self.sinkhorn_iters)
        self.sow_mean("h_res", h_res, state.h.ndim - 2)
        h = fit_width(self, state.h, fx.shape[-1])  # P commutes with the stream mix
        return Streams(mix(jnp.swapaxes(h_res, -1, -2), h, h_post, fx), state.layer + 1)

    def _logits(self, normed: jax.Array, name: str, shape: tuple[int, ...], bias) -> jax.Array:
        """α_name · mat(x' φ_name) + b_name for every row of x' (leading axes kept)."""
        lead = normed.shape[:-1]
        phi = self.param(f"phi_{name}", nn.initializers.zeros, (normed.shape[-1], np.prod(shape)))
        alpha = self.param(f"alpha_{name}", nn.initializers.constant(0.01), ())
        b = self.param(f"b_{name}", lambda key: jnp.broadcast_to(jnp.asarray(bias), shape))
        dynamic = (normed @ phi).reshape(*lead, *shape)
        return alpha * dynamic + b.reshape((1,) * len(lead) + shape)
