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
as `aux_loss`. Negatives are drawn uniformly from the batch's real history behaviours (the paper
samples from the item set; in-batch behaviours follow the item popularity), with the "sample"
rng if the caller passes one, else the "dropout" rng. The mean runs over real (b, t) pairs rather
than the paper's per-user sum.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.features import FeatureSpec
from ctr.layers.augru import AUGRU
from ctr.layers.sequence import (
    BehaviourEmbedding,
    ResidualRecurrentStack,
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


class DIEN(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    hidden: tuple[int, ...] = (200, 80)
    activation: str = "dice"
    dropout: float = 0.0
    batch_norm: bool = False
    aux_coef: float = 1.0
    zero_init: bool = True

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        beh = BehaviourEmbedding(self.spec, self.embedding_dim, name="behaviour")(batch)
        extractor = ResidualRecurrentStack(
            "gru", self.connection, depth=1, zero_init=self.zero_init, name="extractor"
        )
        h_BxLxE = extractor(beh.hist_BxLxE, beh.mask_BxL, train=train)
        if train and self.aux_coef > 0 and h_BxLxE.shape[1] > 1:
            key = self.make_rng("sample" if self.has_rng("sample") else "dropout")
            real_BxL = beh.mask_BxL  # padding rows of a ragged batch give no pairs, no negatives
            if "mask" in batch:
                real_BxL = real_BxL & (batch["mask"][:, None] > 0)
            neg = in_batch_negatives(key, beh.hist_BxLxE, real_BxL, h_BxLxE.shape[1] - 1)
            aux = auxiliary_loss(h_BxLxE[:, :-1], beh.hist_BxLxE[:, 1:], neg, real_BxL[:, 1:])
            self.sow("losses", "aux_loss", self.aux_coef * aux)

        a_BxL = BilinearAttention(name="attention")(h_BxLxE, beh.target_BxE, beh.mask_BxL)
        width = h_BxLxE.shape[-1]
        augru = AUGRU(width, name="augru")
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
