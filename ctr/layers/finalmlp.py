"""FinalMLP's feature gating and bilinear fusion (Mao et al. 2023, eq. 3 and 5-6; FuxiCTR 2.0).

Feature selection: g_s = 2 σ(MLP_s(c_s)), x_s = g_s ⊙ e for stream s ∈ {1, 2}, where c_s is the
concatenated embedding of the context fields, or a learned vector when there is none.
Fusion with k heads: split o_1 (width a) and o_2 (width b) into heads o_1^h, o_2^h and
  logit = w_1^T o_1 + w_2^T o_2 + b + Σ_h (o_1^h)^T W_3^h o_2^h.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.layers.tower import Tower
from resnets import ConnectionFactory


class FeatureGate(nn.Module):
    """x_s = 2 σ(MLP(context)) ⊙ flat_emb (the gate MLP is a plain tower with a sigmoid out)."""

    hidden: tuple[int, ...]
    connection: ConnectionFactory

    @nn.compact
    def __call__(self, flat_BxI: jax.Array, context_BxC: jax.Array | None) -> jax.Array:
        if context_BxC is None:
            bias = self.param("context", nn.initializers.zeros, (1, flat_BxI.shape[-1]))
            context_BxC = jnp.broadcast_to(bias, flat_BxI.shape)
        logits = Tower(self.hidden, self.connection, out_dim=flat_BxI.shape[-1], name="gate")(
            context_BxC
        )
        return 2.0 * nn.sigmoid(logits) * flat_BxI


class BilinearFusion(nn.Module):
    """Multi-head bilinear fusion of the two stream outputs: logits_B."""

    num_heads: int = 1

    @nn.compact
    def __call__(self, o1_BxA: jax.Array, o2_BxB: jax.Array) -> jax.Array:
        (b, a), c, k = o1_BxA.shape, o2_BxB.shape[-1], self.num_heads
        if a % k or c % k:
            raise ValueError(f"stream widths {a} and {c} are not divisible by num_heads {k}")
        init = nn.initializers.glorot_normal(batch_axis=(0,))
        w3 = self.param("w_xy", init, (k, a // k, c // k))
        bilinear_B = jnp.einsum(
            "bhi,hij,bhj->b", o1_BxA.reshape(b, k, a // k), w3, o2_BxB.reshape(b, k, c // k)
        )
        linear_B = nn.Dense(1, name="w_x")(o1_BxA)[:, 0] + nn.Dense(1, name="w_y")(o2_BxB)[:, 0]
        return linear_B + bilinear_B
