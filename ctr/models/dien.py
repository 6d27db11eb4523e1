"""DIEN (Zhou et al. 2019, "Deep Interest Evolution Network for Click-Through Rate Prediction").

Interest extractor (eq. 1-5): h_t = GRU(e_1..e_t), trained with the auxiliary loss
    L_aux = -mean_{(b,t): t+1 real} [ log σ(<h_t, e_{t+1}>) + log(1 - σ(<h_t, ê_{t+1}>)) ]
where ê_{t+1} is a negative behaviour. Interest evolving (eq. 6, 8): a_t = softmax_t(h_t W e_a),
h'_t = AUGRU(h_t, a_t); logit = Tower([context; e_a; h'_T]) with h'_T at the last real step.

Residual slots: the extractor GRU (`extractor/conn_0`), the AUGRU (`conn_evolve`, a one-layer
stack from h) — each with branch δ = W·RNN(x), W zero-initialised, merged by the family — and
every layer of the output tower. (Before the residual-stream contract the AUGRU's merge also saw
the behaviour embeddings e as an earlier state; only `dense` read it.)

Auxiliary loss: with train=True and aux_coef > 0 the model sows aux_coef · L_aux into "losses"
as `aux_loss`, drawing negatives with the "sample" rng if the caller passes one, else the
"dropout" rng. `aux_negatives="batch"` (default) draws them uniformly from the batch's real
history behaviours, so they follow the item popularity; `"items"` draws them as the paper does,
uniformly from the item set (ids above OOV) except the positive next behaviour. The mean runs
over real (b, t) pairs rather than the paper's per-user sum.

Options for the DIEN-vs-DIN study (issue 20): `gru_type` augru | agru | aigru (the paper's
ablation, ctr.layers.augru), `gru_hidden` (width of both GRUs; None = the embedding width E; the
residual branches project back to E), `aux_coef` (the paper's α) and `aux_negatives`.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.features import OOV_ID, FeatureSpec
from ctr.layers.augru import AUGRU
from ctr.layers.sequence import (
    BehaviourEmbedding,
    ResidualRecurrentStack,
    behaviour_fields,
    last_valid,
    output_init,
)
from ctr.layers.target_attention import BilinearAttention
from ctr.layers.tower import Tower
from resnets import ConnectionFactory, residual_stack


def auxiliary_loss(h_BxTxE, pos_BxTxE, neg_BxTxE, mask_BxT) -> jax.Array:
    """DIEN eq. 5, averaged over the real (b, t) pairs."""
    s_pos = jnp.einsum("bte,bte->bt", h_BxTxE, pos_BxTxE)
    s_neg = jnp.einsum("bte,bte->bt", h_BxTxE, neg_BxTxE)
    nll_BxT = -jax.nn.log_sigmoid(s_pos) - jax.nn.log_sigmoid(-s_neg)
    m = mask_BxT.astype(nll_BxT.dtype)
    return (nll_BxT * m).sum() / jnp.maximum(m.sum(), 1.0)


def in_batch_negatives(key, hist_BxLxE, mask_BxL, num: int) -> jax.Array:
    """(B, num, E) behaviours drawn uniformly from the real positions of the whole batch.

    Draws a rank r among the real positions and finds the r-th one by binary search on the
    running count: O(B·L) memory (a Gumbel-max `categorical` over B·L positions would
    materialise B x num x B·L noise, gigabytes at batch 1024).
    """
    b, length, e = hist_BxLxE.shape
    count_P = jnp.cumsum(mask_BxL.reshape(-1).astype(jnp.int32))
    rank_BxN = jax.random.randint(key, (b, num), 0, jnp.maximum(count_P[-1], 1))
    idx_BxN = jnp.minimum(jnp.searchsorted(count_P, rank_BxN, side="right"), b * length - 1)
    return hist_BxLxE.reshape(b * length, e)[idx_BxN]


def item_set_negatives(key, pos_ids_BxN: jax.Array, vocab_size: int) -> jax.Array:
    """Ids drawn uniformly from the item set {OOV_ID + 1, ..., vocab_size - 1} without the
    positive: a draw from one id fewer, shifted up by one at or above the positive. (A position
    whose positive is PAD or OOV, never a real aux pair, draws from the ids above OOV_ID + 1.)"""
    first = OOV_ID + 1
    if vocab_size - first < 2:
        raise ValueError(
            f"item-set negatives need >= 2 real items; the vocabulary has {vocab_size}"
        )
    r = jax.random.randint(key, pos_ids_BxN.shape, first, vocab_size - 1)
    return jnp.where(r >= pos_ids_BxN, r + 1, r)


NEGATIVES = ("batch", "items")


class DIEN(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    hidden: tuple[int, ...] = (200, 80)
    activation: str = "dice"
    dropout: float = 0.0
    batch_norm: bool = False
    aux_coef: float = 1.0
    aux_negatives: str = "batch"
    gru_type: str = "augru"
    gru_hidden: int | None = None
    zero_init: bool = True

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        if self.aux_negatives not in NEGATIVES:
            raise ValueError(f"aux_negatives={self.aux_negatives!r}; choose from {NEGATIVES}")
        embed = BehaviourEmbedding(self.spec, self.embedding_dim, name="behaviour")
        beh = embed(batch)
        extractor = ResidualRecurrentStack(
            "gru",
            self.connection,
            depth=1,
            hidden=self.gru_hidden,
            zero_init=self.zero_init,
            name="extractor",
        )
        h_BxLxE = extractor(beh.hist_BxLxE, beh.mask_BxL, train=train)
        if train and self.aux_coef > 0 and h_BxLxE.shape[1] > 1:
            key = self.make_rng("sample" if self.has_rng("sample") else "dropout")
            real_BxL = beh.mask_BxL  # padding rows of a ragged batch give no pairs, no negatives
            if "mask" in batch:
                real_BxL = real_BxL & (batch["mask"][:, None] > 0)
            if self.aux_negatives == "items":
                neg = self._item_set_negatives(key, embed, batch)
            else:
                neg = in_batch_negatives(key, beh.hist_BxLxE, real_BxL, h_BxLxE.shape[1] - 1)
            aux = auxiliary_loss(h_BxLxE[:, :-1], beh.hist_BxLxE[:, 1:], neg, real_BxL[:, 1:])
            self.sow("losses", "aux_loss", self.aux_coef * aux)

        a_BxL = BilinearAttention(name="attention")(h_BxLxE, beh.target_BxE, beh.mask_BxL)
        width = h_BxLxE.shape[-1]
        augru = AUGRU(self.gru_hidden or width, self.gru_type, name="augru")
        init = output_init(self.connection, self.zero_init)
        out = nn.Dense(width, kernel_init=init, name="out_evolve")
        evolved_BxLxE = residual_stack(
            h_BxLxE,
            [lambda x: out(augru(x, a_BxL))],
            self.connection,
            train=train,
            names=["evolve"],
            fixed_width=True,
        )
        final_BxE = last_valid(evolved_BxLxE, beh.mask_BxL)

        x = jnp.concatenate([beh.context_BxC, beh.target_BxE, final_BxE], axis=-1)
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

    def _item_set_negatives(self, key, embed: BehaviourEmbedding, batch) -> jax.Array:
        """Embeddings (B, L-1, E) of item-set negatives for the next behaviours 2..L."""
        pairs = behaviour_fields(self.spec)
        if len(pairs) != 1:
            raise ValueError(
                "aux_negatives='items' draws ids of one behaviour field; this spec has "
                f"{[s.name for s, _ in pairs]}: use aux_negatives='batch'"
            )
        seq = pairs[0][0]
        neg_ids = item_set_negatives(key, batch[seq.name][:, 1:], seq.vocab_size)
        return jnp.take(embed.table(seq.table), neg_ids, axis=0)
