"""Compressed Interaction Network of xDeepFM (Lian et al. 2018, eq. 6 and 7).

X^k_{h,*} = Σ_{i<H_{k-1}} Σ_{j<F} W^{k,h}_{ij} (X^{k-1}_{i,*} ⊙ X^0_{j,*}) (+ bias, FuxiCTR's
Conv1d), and the output p^+ = [p^1, ..., p^T] with p^k_h = Σ_d X^k_{h,d} (sum pooling).
States are kept channels-last, x_BxDxH, so a connection merges the H feature maps of
consecutive layers: h_{k+1} = connection(hist, CIN_k(h_k)), and p^k pools the stream's readout
after layer k. The published CIN has no shortcut (family `none`); the slot is fixed-width
(`concat` projects back to H_k maps).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from resnets import ConnectionFactory, residual_stack


class CINLayer(nn.Module):
    """One CIN layer: x0_BxFxD, xk_BxDxH -> next feature maps, channels-last BxDxunits."""

    units: int

    @nn.compact
    def __call__(self, x0_BxFxD: jax.Array, xk_BxDxH: jax.Array) -> jax.Array:
        f, h = x0_BxFxD.shape[1], xk_BxDxH.shape[-1]
        init = nn.initializers.lecun_normal(in_axis=(0, 1), out_axis=2)
        kernel = self.param("kernel", init, (f, h, self.units))
        bias = self.param("bias", nn.initializers.zeros, (1, 1, self.units))
        return jnp.einsum("bfd,bdh,fho->bdo", x0_BxFxD, xk_BxDxH, kernel) + bias


class CIN(nn.Module):
    """Stack of CIN layers with a residual slot; returns the sum-pooled maps p^+, BxΣH."""

    layer_units: tuple[int, ...]
    connection: ConnectionFactory

    @nn.compact
    def __call__(self, x0_BxFxD: jax.Array, *, train: bool = False) -> jax.Array:

        def block(i: int, units: int):
            layer = CINLayer(units, name=f"cin_{i}")
            return lambda xk_BxDxH: layer(x0_BxFxD, xk_BxDxH)

        blocks = [block(i, units) for i, units in enumerate(self.layer_units)]
        states = residual_stack(
            jnp.swapaxes(x0_BxFxD, 1, 2),
            blocks,
            self.connection,
            train=train,
            fixed_width=True,
            every_layer=True,
        )
        return jnp.concatenate([h.sum(axis=1) for h in states], axis=-1)
