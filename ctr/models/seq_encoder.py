"""Sequence encoders for the residual-wrapper study: a stack of `depth` residual-wrapped
recurrent or Transformer layers over the behaviour history, then a CTR head.

    h_0 = e_{1..L};  h_{i+1} = conn_i(hist, W_i f_i(h_i))    f = GRU | LSTM | BiLSTM | Transformer
    logit = Tower([context; e_t; h_depth at the last real step])

"gru4rec" follows GRU4Rec's session encoder (Hidasi et al. 2016, "Session-based
Recommendations with Recurrent Neural Networks": the last GRU state represents the session);
"lstm"/"bilstm" swap the cell (Hochreiter & Schmidhuber 1997; Graves & Schmidhuber 2005);
"transformer_enc" uses pre-norm Transformer blocks (Vaswani et al. 2017, learned positions,
bidirectional attention over the real positions). W_i is zero-initialised (except with the plain
family `none`), so identity-like families start every layer as the identity.

Residual slots: every recurrent layer (`encoder/conn_i`), attention and FFN of every Transformer
block (`encoder/block_i/conn_attention|conn_ffn`), every layer of the output tower.
Deviation from GRU4Rec: trained as a CTR model against the target item (pointwise logloss), not
with GRU4Rec's session-parallel ranking losses.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.features import FeatureSpec
from ctr.layers.sequence import (
    RECURRENT,
    BehaviourEmbedding,
    ResidualRecurrentStack,
    ResidualTransformerStack,
    last_valid,
)
from ctr.layers.tower import Tower
from resnets import ConnectionFactory

BLOCKS = (*RECURRENT, "transformer")


class SeqEncoder(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    block: str = "gru"
    depth: int = 1
    hidden: tuple[int, ...] = (200, 80)
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False
    num_heads: int = 2
    zero_init: bool = True

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        if self.block not in BLOCKS:
            raise ValueError(f"block={self.block!r}; choose from {BLOCKS}")
        if not 1 <= self.depth <= 8:
            raise ValueError(f"depth={self.depth}; choose 1..8")
        beh = BehaviourEmbedding(self.spec, self.embedding_dim, name="behaviour")(batch)
        if self.block == "transformer":
            encoder = ResidualTransformerStack(
                self.connection,
                self.depth,
                self.num_heads,
                self.dropout,
                self.zero_init,
                name="encoder",
            )
        else:
            encoder = ResidualRecurrentStack(
                self.block, self.connection, self.depth, zero_init=self.zero_init, name="encoder"
            )
        h_BxLxE = encoder(beh.hist_BxLxE, beh.mask_BxL, train=train)
        x = jnp.concatenate(
            [beh.context_BxC, beh.target_BxE, last_valid(h_BxLxE, beh.mask_BxL)], axis=-1
        )
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


class GRU4Rec(SeqEncoder):
    block: str = "gru"


class LSTMEncoder(SeqEncoder):
    block: str = "lstm"


class BiLSTMEncoder(SeqEncoder):
    block: str = "bilstm"


class TransformerEncoder(SeqEncoder):
    block: str = "transformer"
