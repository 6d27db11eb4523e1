"""Attention-driven GRUs of DIEN (Zhou et al. 2019, "Deep Interest Evolution Network", eq. 1-4
and 6-8): the interest-evolving layer in its three forms.

    u_t = σ(W_u i_t + U_u h_{t-1} + b_u)          r_t = σ(W_r i_t + U_r h_{t-1} + b_r)
    h~_t = tanh(W_h i_t + r_t ⊙ (U_h h_{t-1}) + b_h)
    AUGRU (eq. 8): u'_t = a_t · u_t,   h_t = (1 - u'_t) ⊙ h_{t-1} + u'_t ⊙ h~_t
    AGRU  (eq. 7): h_t = (1 - a_t) · h_{t-1} + a_t · h~_t         (the attention is the gate)
    AIGRU (eq. 6): a GRU (AUGRU with a_t = 1) over the scaled inputs a_t · i_t

W_* carry the biases, U_* have none (the paper's form). In AUGRU and AGRU a step with a_t = 0 (a
padded position) leaves the state unchanged, so the final carry is the state after the last real
behaviour; AIGRU still updates there (from a zero input), as in the paper.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

GRU_TYPES = ("augru", "agru", "aigru")


class AUGRUCell(nn.Module):
    """One step: (h_{t-1}, (i_t, a_t)) -> (h_t, h_t)."""

    features: int
    gru_type: str = "augru"

    @nn.compact
    def __call__(self, h_BxH: jax.Array, inputs: tuple[jax.Array, jax.Array]):
        i_BxI, a_B = inputs
        dense_i = lambda name: nn.Dense(self.features, name=f"w_{name}")  # noqa: E731
        dense_h = lambda name: nn.Dense(self.features, use_bias=False, name=f"u_{name}")  # noqa: E731
        if self.gru_type == "aigru":
            i_BxI = a_B[:, None] * i_BxI
        r = nn.sigmoid(dense_i("r")(i_BxI) + dense_h("r")(h_BxH))
        h_tilde = jnp.tanh(dense_i("h")(i_BxI) + r * dense_h("h")(h_BxH))
        if self.gru_type == "agru":
            u = jnp.broadcast_to(a_B[:, None], h_BxH.shape)
        else:
            u = nn.sigmoid(dense_i("u")(i_BxI) + dense_h("u")(h_BxH))
            if self.gru_type == "augru":
                u = a_B[:, None] * u
        h_BxH = (1.0 - u) * h_BxH + u * h_tilde
        return h_BxH, h_BxH


class AUGRU(nn.Module):
    """Runs AUGRUCell over (B, L, I) with attention (B, L): returns all states (B, L, H)."""

    features: int
    gru_type: str = "augru"

    @nn.compact
    def __call__(self, x_BxLxI: jax.Array, a_BxL: jax.Array) -> jax.Array:
        if self.gru_type not in GRU_TYPES:
            raise ValueError(f"gru_type={self.gru_type!r}; choose from {GRU_TYPES}")
        scan = nn.scan(
            AUGRUCell,
            variable_broadcast="params",
            split_rngs={"params": False},
            in_axes=1,
            out_axes=1,
        )
        h0_BxH = jnp.zeros((x_BxLxI.shape[0], self.features), x_BxLxI.dtype)
        _, h_BxLxH = scan(self.features, self.gru_type, name="cell")(h0_BxH, (x_BxLxI, a_BxL))
        return h_BxLxH
