"""Pre-norm Transformer block (Vaswani et al. 2017; pre-norm placement of Xiong et al. 2020).

A residual stack of two layers (resnets.residual_stack): h_1 = merge(x, MHA(LN(x))),
h_2 = merge(h_1, FFN(LN(h_1))), where merge is the residual family (default: identity,
x + f(x), the paper's form; concat runs projected so the width is kept). LN is the stack's
pre-norm (`norm_attention`, `norm_ffn`). Each block is its own stack (`nested`): a family with
several streams expands at the block input and reads out at its output, keeping the scale.
zero_init_output zero-initialises the attention output projection and the last FFN layer, so
with identity the block starts as exactly the identity map.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from resnets.factory import ConnectionFactory
from resnets.stack import residual_stack


class TransformerBlock(nn.Module):
    """x → merge(x, MHA(LN x)) → merge(·, FFN(LN ·)) over (B, T, D)."""

    num_heads: int = 2
    mlp_ratio: int = 4
    dropout: float = 0.0
    zero_init_output: bool = True
    connection: ConnectionFactory | None = None  # None: identity

    @nn.compact
    def __call__(
        self, x_BxTxD: jax.Array, *, train: bool = False, mask: jax.Array | None = None
    ) -> jax.Array:
        from resnets import get  # resnets imports blocks; import late

        d = x_BxTxD.shape[-1]
        out_init = (
            nn.initializers.zeros if self.zero_init_output else nn.initializers.lecun_normal()
        )
        drop = nn.Dropout(self.dropout, deterministic=not train)
        attn = nn.MultiHeadDotProductAttention(
            self.num_heads,
            out_kernel_init=out_init,
            deterministic=not train,
            dropout_rate=self.dropout,
            name="attention",
        )

        def ffn(y: jax.Array) -> jax.Array:
            y = nn.gelu(nn.Dense(self.mlp_ratio * d, name="ffn_in")(y))
            return drop(nn.Dense(d, kernel_init=out_init, name="ffn_out")(y))

        blocks = [lambda y: drop(attn(y, mask=mask)), ffn]
        return residual_stack(
            x_BxTxD,
            blocks,
            self.connection or get("identity"),
            train=train,
            norm="ln",
            names=["attention", "ffn"],
            fixed_width=True,
            nested=True,
        )
