"""DeRes (Cheng et al. 2026, "DeRes: Decoupling Residual Stability and Adaptivity for Scalable CTR
Prediction", arXiv 2606.07980).

Verified from the abstract (the method section could not be read here and no code is public):
each layer runs through two parallel paths, an Identity residual path (first-order reuse,
gradient flow) and a Block Attention Residual path over the compressed outputs of all earlier
blocks (resnets.attnres); a vector-wise gate decides, per hidden dimension, the weight of each
path; Pointwise AttnRes replaces the depth softmax by SiLU, so several blocks can be active at once
and stale ones get negative weights. Ablations: both paths beat either alone, the identity skip
beats learnable residual weights, SiLU beats softmax.

This project's reading (UNVERIFIED: the equations, where the gate sits, its inputs and inits):

    u_k = x_k + f_k(x_k)                                       identity path
    a_k = Σ_i SiLU(w_k · RMSNorm(s_i) + b_k) s_i                 pointwise block AttnRes path
    x_{k+1} = g_k ⊙ u_k + (1 − g_k) ⊙ a_k,   g_k = σ(γ_k) ∈ (0, 1)^d

with the sources s_i of resnets.attnres (h_0, completed block sums, the open block's partial sum
including f_k(x_k)); x_{k+1} is both the next read and the state the identity path continues
from; the readout is x_L (the last instance's gate and query form the output).
`gate="dynamic"`: g_k = σ(W_g RMSNorm(x_k) + γ_k), W_g (`gate_proj`) zero-initialised, so it
starts as the static gate. `pointwise=False` is the softmax ablation. Not implemented: gating
only what the next block reads while the identity stream runs on untouched (another reading).

Initialisation (this project's): γ (`gate_logit`) = 0 (g = ½), queries 0, b = Z_STAR (every
SiLU weight 1), key RMSNorm scale 1. Then the attention path is h_0 + Σ f (the blocks partition
the outputs) and so is the identity path by induction: the stack equals the pre-norm residual at
init for any gate, and the gate gets no gradient until the two paths differ.
`intermediates/<conn>/gate` holds the batch-mean g when that collection is mutable.
"""

from typing import ClassVar

import flax.linen as nn

from resnets.attnres import AttnResConnection
from resnets.scaled import channel_param

GATES = ("static", "dynamic")


class DeResConnection(AttnResConnection):
    """x_{k+1} = g ⊙ (x_k + f(x_k)) + (1 − g) ⊙ Σ_i SiLU(w·RMSNorm(s_i) + b) s_i, g = σ(γ)."""

    learned: ClassVar[tuple[str, ...]] = ("query", "logit_bias", "gate_logit")

    pointwise: bool = True
    gate: str = "static"

    def check(self):
        super().check()
        if self.gate not in GATES:
            raise ValueError(f"deres: gate must be one of {GATES}, got {self.gate!r}")

    def merge(self, x, fx, attended):
        d = fx.shape[-1]
        logit = channel_param(self, "gate_logit", "channel", d, 0.0, x.ndim)
        if self.gate == "dynamic":
            normed = nn.RMSNorm(use_scale=False, name="gate_norm")(x)
            proj = nn.Dense(d, use_bias=False, kernel_init=nn.initializers.zeros, name="gate_proj")
            logit = logit + proj(normed)
        g = nn.sigmoid(logit)
        if self.is_mutable_collection("intermediates"):
            self.sow("intermediates", "gate", g.reshape(-1, d).mean(0))
        return g * (x + fx) + (1.0 - g) * attended
