"""Cross networks of DCN (Wang et al. 2017, eq. 3) and DCN-V2 (Wang et al. 2021, eq. 1, 3 and the
mixture of low-rank experts of sec. 3.3 / FuxiCTR CrossNetMix).

Branch f of cross layer l (x_0 the flat embedding, x_l the current state, both of width W):
  v1:  f(x_l) = x_0 (x_l^T w_l) + b_l
  v2:  f(x_l) = x_0 ⊙ (W_l x_l + b_l)
  mix: f(x_l) = Σ_e g_e(x_l) · x_0 ⊙ (U_e tanh(C_e tanh(V_e^T x_l)) + b_l),  g = softmax(G x_l)
The published layer is x_{l+1} = f(x_l) + x_l. In `CrossNet` that built-in shortcut is the
residual slot (see ctr.layers.slots): `none` keeps it, other families replace it; the width is
fixed because x_0 ⊙ (.) needs width(x_l) == width(x_0). x_l is what the family's stream gives
the layer to read (the last state for the classic families).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from resnets import ConnectionFactory, residual_stack

KINDS = ("v1", "v2", "mix")


class CrossV1(nn.Module):
    """f(x_l) = x_0 (x_l^T w) + b."""

    @nn.compact
    def __call__(self, x0_BxW: jax.Array, x_BxW: jax.Array) -> jax.Array:
        w = x0_BxW.shape[-1]
        kernel = self.param("kernel", nn.initializers.glorot_uniform(), (w, 1))
        bias = self.param("bias", nn.initializers.zeros, (1, w))
        return x0_BxW * (x_BxW @ kernel) + bias


class CrossV2(nn.Module):
    """f(x_l) = x_0 ⊙ (W x_l + b)."""

    @nn.compact
    def __call__(self, x0_BxW: jax.Array, x_BxW: jax.Array) -> jax.Array:
        return x0_BxW * nn.Dense(x0_BxW.shape[-1], name="dense")(x_BxW)


class CrossMix(nn.Module):
    """Mixture of low-rank cross experts, gated by softmax(G x_l)."""

    low_rank: int = 32
    num_experts: int = 4

    @nn.compact
    def __call__(self, x0_BxW: jax.Array, x_BxW: jax.Array) -> jax.Array:
        w, e, r = x0_BxW.shape[-1], self.num_experts, self.low_rank
        init = nn.initializers.glorot_normal(in_axis=-2, out_axis=-1, batch_axis=(0,))
        u = self.param("u", init, (e, r, w))
        v = self.param("v", init, (e, w, r))
        c = self.param("c", init, (e, r, r))
        bias = self.param("bias", nn.initializers.zeros, (1, 1, w))
        z_BxExR = jnp.tanh(jnp.einsum("bw,ewr->ber", x_BxW, v))
        z_BxExR = jnp.tanh(jnp.einsum("ber,ers->bes", z_BxExR, c))
        experts_BxExW = x0_BxW[:, None, :] * (jnp.einsum("ber,erw->bew", z_BxExR, u) + bias)
        gate_BxE = nn.softmax(nn.Dense(e, use_bias=False, name="gate")(x_BxW), axis=-1)
        return jnp.einsum("be,bew->bw", gate_BxE, experts_BxExW)


class CrossNet(nn.Module):
    """num_layers cross layers merged by the connection; returns the stack's readout x_L."""

    num_layers: int
    connection: ConnectionFactory
    kind: str = "v1"
    low_rank: int = 32
    num_experts: int = 4
    builtin_shortcut: bool = True

    @nn.compact
    def __call__(self, x0_BxW: jax.Array, *, train: bool = False) -> jax.Array:
        if self.kind not in KINDS:
            raise ValueError(f"cross layer kind must be one of {KINDS}, got {self.kind!r}")

        def block(i: int):
            if self.kind == "v1":
                layer = CrossV1(name=f"cross_{i}")
            elif self.kind == "v2":
                layer = CrossV2(name=f"cross_{i}")
            else:
                layer = CrossMix(self.low_rank, self.num_experts, name=f"cross_{i}")
            return lambda x_BxW: layer(x0_BxW, x_BxW)

        blocks = [block(i) for i in range(self.num_layers)]
        return residual_stack(
            x0_BxW,
            blocks,
            self.connection,
            train=train,
            builtin_shortcut=self.builtin_shortcut,
            fixed_width=True,
        )
