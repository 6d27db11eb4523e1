"""Pre-norm Transformer block (Vaswani et al. 2017; pre-norm placement of Xiong et al. 2020).

h_1 = merge(x, MHA(LN(x))), h_2 = merge(h_1, FFN(LN(h_1))), where merge is the residual family
(default: identity, x + f(x), the paper's form; concat runs projected so the width is kept).
zero_init_output zero-initialises the attention output projection and the last FFN layer, so
with identity the block starts as exactly the identity map.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from resnets.factory import ConnectionFactory


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
        from resnets import fixed_width, get  # resnets imports blocks; import late

        d = x_BxTxD.shape[-1]
        factory = fixed_width(self.connection or get("identity"))
        shared = factory(name="conn") if factory.shared else None
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
        y = nn.LayerNorm(name="norm_attention")(x_BxTxD)
        hist = [x_BxTxD]
        hist.append(
            (shared or factory(name="conn_attention"))(hist, drop(attn(y, mask=mask)), train=train)
        )

        y = nn.LayerNorm(name="norm_ffn")(hist[-1])
        y = nn.gelu(nn.Dense(self.mlp_ratio * d, name="ffn_in")(y))
        y = drop(nn.Dense(d, kernel_init=out_init, name="ffn_out")(y))
        hist.append((shared or factory(name="conn_ffn"))(hist, y, train=train))
        return hist[-1]
