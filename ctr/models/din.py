"""DIN (Zhou et al. 2018, "Deep Interest Network for Click-Through Rate Prediction", eq. 3-4, 9).

    v_U = sum_l a(e_l, e_t) e_l,   a = MLP_att([e_l, e_l - e_t, e_l ⊙ e_t, e_t])   (no softmax)
    logit = Tower([context; e_t; v_U])        (Dice activations, eq. 9)

Residual slots: every layer of the output tower and of the attention MLP (connection `none`
gives the published plain MLPs).

Mini-batch aware regularization (eq. 4, ctr.layers.mba): with mba_l2 > 0 the model sows
mba_l2 · sum_tables mba_regularizer(table, ids in batch, counts) into "losses" as `mba_l2`, which
the trainer adds with resnets.penalty. The id counts n_j live in the "counts" collection
(`counts/table_<name>`, shape (V,), initialised to ones = no frequency scaling): a trainer that
wants the paper's 1/n_j scaling overwrites them with the train split's id counts and passes the
collection back in `variables`.

Deviation: Dice's batch statistics in the attention MLP include padded history positions (only
the padding rows of a ragged batch are masked out); padded positions still get zero attention.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.features import PAD_ID, FeatureSpec
from ctr.layers.embedding import TABLE_PREFIX
from ctr.layers.mba import mba_regularizer
from ctr.layers.sequence import BehaviourEmbedding
from ctr.layers.target_attention import ActivationUnit
from ctr.layers.tower import Tower
from resnets import ConnectionFactory
from resnets.norm import row_mask


class DIN(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    hidden: tuple[int, ...] = (200, 80)
    attention_hidden: tuple[int, ...] = (80, 40)
    activation: str = "dice"
    attention_activation: str = "dice"
    dropout: float = 0.0
    batch_norm: bool = False
    mba_l2: float = 0.0

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        embed = BehaviourEmbedding(self.spec, self.embedding_dim, name="behaviour")
        beh = embed(batch)
        unit = ActivationUnit(
            self.connection, tuple(self.attention_hidden), self.attention_activation, name="att"
        )
        interest_BxE, _ = unit(
            beh.hist_BxLxE, beh.target_BxE, beh.mask_BxL, train=train, mask_B=batch.get("mask")
        )
        if self.mba_l2 > 0:
            self.sow("losses", "mba_l2", self.mba_l2 * self._mba(embed, batch))
        x = jnp.concatenate([beh.context_BxC, beh.target_BxE, interest_BxE], axis=-1)
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

    def _mba(self, embed: BehaviourEmbedding, batch: dict[str, jax.Array]) -> jax.Array:
        total = 0.0
        for name in dict.fromkeys(f.table for f in self.spec.fields if f.kind != "numeric"):
            fields = [f for f in self.spec.fields if f.kind != "numeric" and f.table == name]
            table_VxD = embed.table(name)
            counts = self.variable(
                "counts", TABLE_PREFIX + name, jnp.ones, (table_VxD.shape[0],), jnp.float32
            )
            ids = jnp.concatenate([real_ids(batch, f.name).ravel() for f in fields])
            total = total + mba_regularizer(table_VxD, ids, counts.value)
        return total


def real_ids(batch: dict[str, jax.Array], name: str) -> jax.Array:
    """Column `name` with the padding rows of a ragged batch set to PAD (never penalised)."""
    ids = batch[name]
    if "mask" not in batch:
        return ids
    return jnp.where(row_mask(batch["mask"], ids.ndim), ids, PAD_ID)
