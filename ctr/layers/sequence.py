"""Behaviour sequences: history embeddings sharing the target's table, masks, pooling, and
residual-wrapped recurrent and Transformer stacks.

A behaviour field is a sequence field `hist` (int32 (B, L), left-aligned, 0 = PAD) whose table
(its `group`) is also the table of a categorical *target* field (e.g. `item`): DIN-style models
compare e(hist_l) with e(item) in one embedding space. Several behaviour fields (item ids and
category ids, say) are concatenated along the embedding axis, E = J·D. Every other categorical or
numeric field is *context*.

Residual recurrent layer i (the pattern of resnets.blocks.SequenceResidual, with the sequence
lengths passed to the RNN): δ = W_i RNN_i(x_i) (W_i zero-initialised), merged into the residual
stream by conn_i (resnets.residual_stack; x_i is what the stream gives layer i to read). With
identity-like families each layer starts as the identity map. With a plain family (`none`) the
projection keeps its default (lecun) init: a zero-init plain stack would output zeros and never
receive a gradient below its last layer.
"""

from __future__ import annotations

from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.features import PAD_ID, FeatureSpec, Field
from ctr.layers.embedding import FeatureEmbedding
from resnets import ConnectionFactory, residual_stack
from resnets.blocks import GRU, LSTM, TransformerBlock

RECURRENT = ("gru", "lstm", "bilstm")


def behaviour_fields(spec: FeatureSpec) -> tuple[tuple[Field, Field], ...]:
    """(sequence field, target field) pairs; ValueError if the spec has no usable sequence."""
    if not spec.sequence:
        raise ValueError(
            "behaviour-sequence models need a sequence field (kind='sequence'); "
            f"fields: {[f.name for f in spec.fields]}"
        )
    pairs = []
    for s in spec.sequence:
        targets = [f for f in spec.categorical if f.table == s.table]
        if not targets:
            raise ValueError(
                f"sequence field {s.name!r} (table {s.table!r}) has no target: add a categorical "
                f"field with group={s.table!r} so history and target share one embedding table"
            )
        pairs.append((s, targets[0]))
    if len({s.max_len for s, _ in pairs}) != 1:
        raise ValueError(
            f"sequence fields must share max_len: {[(s.name, s.max_len) for s, _ in pairs]}"
        )
    return tuple(pairs)


def output_init(connection: ConnectionFactory, zero_init: bool) -> nn.initializers.Initializer:
    """Zero init for the residual branch's output projection, except for the plain family."""
    if zero_init and not connection.cls.plain:
        return nn.initializers.zeros
    return nn.initializers.lecun_normal()


class Behaviour(NamedTuple):
    hist_BxLxE: jax.Array  # history embeddings (padded rows hold the PAD row; use mask_BxL)
    mask_BxL: jax.Array  # bool, True for real behaviours
    target_BxE: jax.Array
    context_BxC: jax.Array  # flattened context embeddings (C may be 0)


class BehaviourEmbedding(nn.Module):
    """Embeds every field with FeatureEmbedding (name "embedding"); sequences reuse its tables."""

    spec: FeatureSpec
    dim: int

    def setup(self):
        self.pairs = behaviour_fields(self.spec)
        self.embedding = FeatureEmbedding(self.spec, dim=self.dim)

    def table(self, name: str) -> jax.Array:
        return self.embedding.table(name)

    def __call__(self, batch: dict[str, jax.Array]) -> Behaviour:
        emb_BxFxD = self.embedding(batch)
        columns = [f.name for f in self.spec.fields if f.kind != "sequence"]
        target_cols = [columns.index(t.name) for _, t in self.pairs]
        context_cols = [i for i, name in enumerate(columns) if i not in target_cols]
        b = emb_BxFxD.shape[0]
        target_BxE = emb_BxFxD[:, jnp.asarray(target_cols)].reshape(b, -1)
        context_BxC = emb_BxFxD[:, jnp.asarray(context_cols, jnp.int32)].reshape(b, -1)
        hist_BxLxE = jnp.concatenate(
            [jnp.take(self.table(s.table), batch[s.name], axis=0) for s, _ in self.pairs], -1
        )
        mask_BxL = batch[self.pairs[0][0].name] != PAD_ID
        return Behaviour(hist_BxLxE, mask_BxL, target_BxE, context_BxC)


def masked_mean(x_BxLxE: jax.Array, mask_BxL: jax.Array) -> jax.Array:
    """Mean over the real positions (zero for an empty history)."""
    m_BxLx1 = mask_BxL[..., None].astype(x_BxLxE.dtype)
    return (x_BxLxE * m_BxLx1).sum(1) / jnp.maximum(m_BxLx1.sum(1), 1.0)


def last_valid(x_BxLxE: jax.Array, mask_BxL: jax.Array) -> jax.Array:
    """State at the last real position (position 0 for an empty history)."""
    idx_B = jnp.maximum(mask_BxL.sum(1) - 1, 0)
    return jnp.take_along_axis(x_BxLxE, idx_B[:, None, None], axis=1)[:, 0]


class ResidualRecurrentStack(nn.Module):
    """depth residual layers with branch W_i RNN_i(x_i) over (B, L, E); width stays E."""

    kind: str
    connection: ConnectionFactory
    depth: int = 1
    hidden: int | None = None  # None: the input width E
    zero_init: bool = True

    @nn.compact
    def __call__(self, x_BxLxE: jax.Array, mask_BxL: jax.Array, *, train: bool = False):
        if self.kind not in RECURRENT:
            raise ValueError(f"recurrent kind {self.kind!r}; choose from {RECURRENT}")
        width = x_BxLxE.shape[-1]
        hidden = self.hidden or width
        lengths_B = mask_BxL.sum(1).astype(jnp.int32)
        init = output_init(self.connection, self.zero_init)

        def block(i: int):
            if self.kind == "gru":
                rnn = GRU(hidden, name=f"block_{i}")
            else:
                rnn = LSTM(hidden, bidirectional=self.kind == "bilstm", name=f"block_{i}")
            out = nn.Dense(width, kernel_init=init, name=f"out_{i}")
            return lambda x: out(rnn(x, train=train, seq_lengths=lengths_B))

        blocks = [block(i) for i in range(self.depth)]
        return residual_stack(x_BxLxE, blocks, self.connection, train=train, fixed_width=True)


class ResidualTransformerStack(nn.Module):
    """Learned positions, then depth pre-norm TransformerBlocks (residual slots around attention
    and FFN, named block_i/conn_attention and block_i/conn_ffn) over (B, L, E) with a key mask.

    causal: position t also attends only to positions <= t (SASRec, Kang & McAuley 2018, sec.
    III-B "causality"), so its output depends on items 1..t alone and one pass gives the state
    of every prefix."""

    connection: ConnectionFactory
    depth: int = 1
    num_heads: int = 2
    dropout: float = 0.0
    zero_init: bool = True
    causal: bool = False

    @nn.compact
    def __call__(self, x_BxLxE: jax.Array, mask_BxL: jax.Array, *, train: bool = False):
        _, length, width = x_BxLxE.shape
        if width % self.num_heads:
            raise ValueError(
                f"embedding width {width} is not divisible by num_heads={self.num_heads}"
            )
        pos_LxE = self.param("position", nn.initializers.normal(0.02), (length, width))
        h = x_BxLxE + pos_LxE[None]
        mask = nn.make_attention_mask(mask_BxL, mask_BxL)
        if self.causal:
            mask = nn.combine_masks(mask, nn.make_causal_mask(mask_BxL))
        zero = self.zero_init and not self.connection.cls.plain
        for i in range(self.depth):
            block = TransformerBlock(
                self.num_heads,
                dropout=self.dropout,
                zero_init_output=zero,
                connection=self.connection,
                name=f"block_{i}",
            )
            h = block(h, train=train, mask=mask)
        return h
