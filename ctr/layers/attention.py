"""Attention over fields: AutoInt's multi-head self-attention and AFM's attentional pooling.

AutoInt (Song et al. 2019, eq. 5-8; FuxiCTR 1.2 MultiHeadAttention): per head h with head width
d = attention_dim / num_heads,
  α^h_{ij} = softmax_j(<W_Q^h e_i, W_K^h e_j> / s),  ẽ^h_i = Σ_j α^h_{ij} W_V^h e_j,
  layer: e'_i = ReLU([ẽ^1_i, ..., ẽ^H_i] + W_res e_i),  s = 1 (or √d with use_scale);
  with layer_norm (FuxiCTR's option, on in BARS's AutoInt+ runs): ReLU(LN(... + W_res e_i)).
`SelfAttentionStack` makes "+ W_res e_i" the residual slot: ReLU([LN](connection(hist, attention))),
where `none` keeps the published W_res shortcut (see ctr.layers.slots) and the width is fixed.

AFM (Xiao et al. 2017, eq. 3-5): a_ij = softmax_{(i,j)}(h^T ReLU(W (e_i ⊙ e_j) + b)),
  pooled = p^T Σ_{i<j} a_ij (e_i ⊙ e_j)  -> one logit per example.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.layers.product import hadamard_pairs
from resnets import ConnectionFactory, residual_stack


class SelfAttention(nn.Module):
    """Multi-head self-attention over the F fields, the branch only: BxFxI -> BxFxattention_dim."""

    attention_dim: int
    num_heads: int = 1
    use_scale: bool = False
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x_BxFxI: jax.Array, *, train: bool = False) -> jax.Array:
        if self.attention_dim % self.num_heads:
            raise ValueError(
                f"attention_dim {self.attention_dim} is not divisible by num_heads {self.num_heads}"
            )
        b, f, _ = x_BxFxI.shape
        d = self.attention_dim // self.num_heads

        def heads(name: str) -> jax.Array:
            y = nn.Dense(self.attention_dim, use_bias=False, name=name)(x_BxFxI)
            return y.reshape(b, f, self.num_heads, d)

        q_BxFxHxd, k_BxFxHxd, v_BxFxHxd = heads("query"), heads("key"), heads("value")
        logits_BxHxFxF = jnp.einsum("bihd,bjhd->bhij", q_BxFxHxd, k_BxFxHxd)
        if self.use_scale:
            logits_BxHxFxF = logits_BxHxFxF / jnp.sqrt(d).astype(logits_BxHxFxF.dtype)
        attn = nn.softmax(logits_BxHxFxF, axis=-1)
        attn = nn.Dropout(self.dropout, deterministic=not train)(attn)
        out_BxFxHxd = jnp.einsum("bhij,bjhd->bihd", attn, v_BxFxHxd)
        return out_BxFxHxd.reshape(b, f, self.attention_dim)


class SelfAttentionStack(nn.Module):
    """num_layers AutoInt layers: h_{l+1} = ReLU([LN](connection(hist, SelfAttention(h_l))))."""

    num_layers: int
    attention_dim: int
    connection: ConnectionFactory
    num_heads: int = 1
    use_scale: bool = False
    dropout: float = 0.0
    builtin_shortcut: bool = True  # AutoInt's use_residual
    layer_norm: bool = False  # over each field's attention_dim features, after the merge

    @nn.compact
    def __call__(self, emb_BxFxD: jax.Array, *, train: bool = False) -> jax.Array:

        def block(i: int):
            attn = SelfAttention(
                self.attention_dim, self.num_heads, self.use_scale, self.dropout, name=f"attn_{i}"
            )
            return lambda x: attn(x, train=train)

        def post(merged: jax.Array, i: int) -> jax.Array:
            if self.layer_norm:
                merged = nn.LayerNorm(epsilon=1e-5, name=f"norm_{i}")(merged)  # torch's eps
            return nn.relu(merged)

        blocks = [block(i) for i in range(self.num_layers)]
        return residual_stack(
            emb_BxFxD,
            blocks,
            self.connection,
            train=train,
            post=post,
            builtin_shortcut=self.builtin_shortcut,
            fixed_width=True,
        )


class AttentionalPooling(nn.Module):
    """AFM: p^T Σ_{i<j} a_ij (e_i ⊙ e_j) with attention scores from a one-hidden-layer net."""

    attention_dim: int
    dropout: tuple[float, float] = (0.0, 0.0)  # on the attention weights, on the pooled vector

    @nn.compact
    def __call__(self, emb_BxFxD: jax.Array, *, train: bool = False) -> jax.Array:
        pairs_BxPxD = hadamard_pairs(emb_BxFxD)
        hidden = nn.relu(nn.Dense(self.attention_dim, name="attention")(pairs_BxPxD))
        scores_BxPx1 = nn.Dense(1, use_bias=False, name="score")(hidden)
        weights_BxPx1 = nn.softmax(scores_BxPx1, axis=1)
        weights_BxPx1 = nn.Dropout(self.dropout[0], deterministic=not train)(weights_BxPx1)
        pooled_BxD = (weights_BxPx1 * pairs_BxPxD).sum(axis=1)
        pooled_BxD = nn.Dropout(self.dropout[1], deterministic=not train)(pooled_BxD)
        return nn.Dense(1, use_bias=False, name="projection")(pooled_BxD)[:, 0]
