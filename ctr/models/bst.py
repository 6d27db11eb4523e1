"""BST (Chen et al. 2019, "Behavior Sequence Transformer for E-commerce Recommendation in
Alibaba", sec. 2).

    z = Transformer([e_1 + p_1, ..., e_L + p_L, e_t + p_{L+1}])      (padded keys masked)
    logit = Tower([context; flatten(z ⊙ mask)])

Residual slots: around the attention and around the FFN of every Transformer block
(`transformer/block_i/conn_attention`, `.../conn_ffn`) and every layer of the output tower.

Deviations: positions are learned per index (the paper embeds the time gap t(v_t) - t(v_i); our
data has no timestamps); the blocks are pre-norm with a GELU FFN (resnets.blocks.TransformerBlock,
so identity-like families start each block as the identity) where the paper uses post-norm and
LeakyReLU; zero-initialised output projections except with the plain family `none`.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.features import FeatureSpec
from ctr.layers.sequence import BehaviourEmbedding, ResidualTransformerStack
from ctr.layers.tower import Tower
from resnets import ConnectionFactory


class BST(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    hidden: tuple[int, ...] = (1024, 512, 256)
    activation: str = "leaky_relu"
    dropout: float = 0.0
    batch_norm: bool = False
    depth: int = 1  # the paper's best b = 1
    num_heads: int = 2
    attention_dropout: float = 0.1

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        beh = BehaviourEmbedding(self.spec, self.embedding_dim, name="behaviour")(batch)
        seq_BxSxE = jnp.concatenate([beh.hist_BxLxE, beh.target_BxE[:, None]], axis=1)
        mask_BxS = jnp.concatenate([beh.mask_BxL, jnp.ones_like(beh.mask_BxL[:, :1])], axis=1)
        transformer = ResidualTransformerStack(
            self.connection,
            self.depth,
            self.num_heads,
            self.attention_dropout,
            name="transformer",
        )
        z_BxSxE = transformer(seq_BxSxE, mask_BxS, train=train)
        z_BxSxE = jnp.where(mask_BxS[..., None], z_BxSxE, 0.0)
        b = z_BxSxE.shape[0]
        x = jnp.concatenate([beh.context_BxC, z_BxSxE.reshape(b, -1)], axis=-1)
        tower = Tower(
            tuple(self.hidden),
            self.connection,
            self.activation,
            self.dropout,
            self.batch_norm,
            out_dim=1,
            name="tower",
        )
        return tower(x, train=train, mask_B=batch.get("mask"))[:, 0]
