"""Target attention: pool a behaviour history by its relevance to the target item.

DIN's local activation unit (Zhou et al. 2018, "Deep Interest Network", eq. 3):
    v_U(A) = sum_l a(e_l, v_A) e_l,   a(e_l, v_A) = MLP([e_l, e_l - v_A, e_l ⊙ v_A, v_A])
with NO softmax ("the normalization is relaxed to keep the intensity of user interests");
`normalize="softmax"` gives the softmax-normalised variant DSIN uses. The MLP is a residual
Tower (Dice by default), so its layers are residual slots too. `mask_B` (1 = real row) keeps the
padding rows of a ragged batch out of the MLP's Dice / BatchNorm statistics.

DIEN's attention (Zhou et al. 2019, eq. 6): a_t = softmax_t(h_t W e_a), a bilinear score.

Padded positions are masked with `where`, so they get exactly zero weight and zero gradient.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.layers.tower import Tower
from resnets import ConnectionFactory

NORMALIZE = ("none", "softmax")


def masked_softmax(score_BxL: jax.Array, mask_BxL: jax.Array) -> jax.Array:
    """Softmax over the real positions; an all-padding row gets all-zero weights."""
    score_BxL = jnp.where(mask_BxL, score_BxL, -1e30)
    w_BxL = jax.nn.softmax(score_BxL, axis=-1)
    return jnp.where(mask_BxL, w_BxL, 0.0)


class ActivationUnit(nn.Module):
    """DIN activation unit: returns (pooled_BxE, weights_BxL)."""

    connection: ConnectionFactory
    hidden: tuple[int, ...] = (80, 40)
    activation: str = "dice"
    normalize: str = "none"

    @nn.compact
    def __call__(self, hist_BxLxE, target_BxE, mask_BxL, *, train: bool = False, mask_B=None):
        if self.normalize not in NORMALIZE:
            raise ValueError(f"normalize={self.normalize!r}; choose from {NORMALIZE}")
        t_BxLxE = jnp.broadcast_to(target_BxE[:, None], hist_BxLxE.shape)
        feats = jnp.concatenate(
            [hist_BxLxE, hist_BxLxE - t_BxLxE, hist_BxLxE * t_BxLxE, t_BxLxE], axis=-1
        )
        tower = Tower(tuple(self.hidden), self.connection, self.activation, name="mlp")
        score_BxL = tower(feats, train=train, mask_B=mask_B)[..., 0]
        if self.normalize == "softmax":
            w_BxL = masked_softmax(score_BxL, mask_BxL)
        else:
            w_BxL = jnp.where(mask_BxL, score_BxL, 0.0)
        return jnp.einsum("bl,ble->be", w_BxL, hist_BxLxE), w_BxL


class BilinearAttention(nn.Module):
    """DIEN attention weights a_t = softmax over real t of h_t W e_a: weights_BxL."""

    @nn.compact
    def __call__(self, h_BxLxH, target_BxE, mask_BxL):
        wt_BxH = nn.Dense(h_BxLxH.shape[-1], use_bias=False, name="w")(target_BxE)
        return masked_softmax(jnp.einsum("blh,bh->bl", h_BxLxH, wt_BxH), mask_BxL)
