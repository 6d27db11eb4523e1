"""Neural Collaborative Filtering, NeuMF (He et al. 2017, "Neural Collaborative Filtering",
eq. 9-12).

φ_GMF = p_u ⊙ q_i;  φ_MLP = Tower([p'_u; q'_i]);  logit = h^T [φ_GMF; φ_MLP] + b
with separate GMF and MLP embeddings of user and item. On generic CTR data the user is
`user_field` (else the spec's user_field, else the first categorical field) and the item is
`item_field` (else the first other categorical field); other fields are not used.

Residual slots: every layer of the MLP tower (`none` gives the published NeuMF).
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.features import FeatureSpec
from ctr.layers.embedding import FeatureEmbedding
from ctr.layers.tower import Tower
from resnets import ConnectionFactory


def user_item(spec: FeatureSpec, user: str | None, item: str | None) -> FeatureSpec:
    """The two-field spec (user, item) NeuMF reads."""
    names = [f.name for f in spec.categorical]
    user = user or spec.user_field or names[0]
    item = item or next((n for n in names if n != user), None)
    if item is None or user not in names or item not in names:
        raise ValueError(f"NeuralCF needs two categorical fields (user, item); fields: {names}")
    fields = (spec.field(user), spec.field(item))
    return dataclasses.replace(spec, fields=fields, user_field=None)


class NeuralCF(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    user_field: str | None = None
    item_field: str | None = None
    mlp_hidden: tuple[int, ...] = (64, 32, 16)
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        spec = user_item(self.spec, self.user_field, self.item_field)
        gmf_Bx2xD = FeatureEmbedding(spec, dim=self.embedding_dim, name="gmf_embedding")(batch)
        mlp_Bx2xD = FeatureEmbedding(spec, dim=self.embedding_dim, name="mlp_embedding")(batch)
        tower = Tower(
            tuple(self.mlp_hidden), self.connection, self.activation, self.dropout,
            self.batch_norm, out_dim=None, name="tower",
        )  # fmt: skip
        x_BxI = mlp_Bx2xD.reshape(mlp_Bx2xD.shape[0], -1)
        mlp_BxH = tower(x_BxI, train=train, mask_B=batch.get("mask"))
        gmf_BxD = gmf_Bx2xD[:, 0] * gmf_Bx2xD[:, 1]
        return nn.Dense(1, name="out")(jnp.concatenate([gmf_BxD, mlp_BxH], axis=-1))[:, 0]
