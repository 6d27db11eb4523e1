"""FiBiNET's squeeze-excitation and bilinear interaction (Huang et al. 2019, eq. 3-9).

SENET:    z_f = mean_d e_{f,d};  a = ReLU(W_2 ReLU(W_1 z));  v_f = a_f e_f
          (W_1: F -> max(1, F // r), no biases: FuxiCTR SqueezeExcitationLayer).
Bilinear: p_ij = (v_i W) ⊙ v_j for i < j, with W shared by all fields (`field_all`),
          one W_i per field (`field_each`) or one W_ij per pair (`field_interaction`).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.layers.product import pair_indices

BILINEAR_TYPES = ("field_all", "field_each", "field_interaction")


class SENET(nn.Module):
    """Reweights each field embedding by a learned, input-dependent scalar: BxFxD -> BxFxD."""

    reduction_ratio: float = 3.0

    @nn.compact
    def __call__(self, emb_BxFxD: jax.Array) -> jax.Array:
        f = emb_BxFxD.shape[1]
        z_BxF = emb_BxFxD.mean(axis=-1)
        a_BxF = nn.relu(nn.Dense(max(1, int(f / self.reduction_ratio)), use_bias=False)(z_BxF))
        a_BxF = nn.relu(nn.Dense(f, use_bias=False)(a_BxF))
        return emb_BxFxD * a_BxF[:, :, None]


class Bilinear(nn.Module):
    """p_ij = (v_i W_·) ⊙ v_j for every pair i < j: BxFxD -> BxPxD."""

    bilinear_type: str = "field_interaction"

    @nn.compact
    def __call__(self, emb_BxFxD: jax.Array) -> jax.Array:
        if self.bilinear_type not in BILINEAR_TYPES:
            raise ValueError(
                f"bilinear_type must be one of {BILINEAR_TYPES}, got {self.bilinear_type!r}"
            )
        f, d = emb_BxFxD.shape[1:]
        rows, cols = pair_indices(f)
        n = {"field_all": 1, "field_each": f, "field_interaction": len(rows)}[self.bilinear_type]
        init = nn.initializers.lecun_normal(batch_axis=(0,))
        kernel_NxDxD = self.param("kernel", init, (n, d, d))
        if self.bilinear_type == "field_all":
            kernel_PxDxD = jnp.broadcast_to(kernel_NxDxD, (len(rows), d, d))
        elif self.bilinear_type == "field_each":
            kernel_PxDxD = kernel_NxDxD[rows]
        else:
            kernel_PxDxD = kernel_NxDxD
        left_BxPxD = jnp.einsum("bpd,pde->bpe", emb_BxFxD[:, rows], kernel_PxDxD)
        return left_BxPxD * emb_BxFxD[:, cols]
