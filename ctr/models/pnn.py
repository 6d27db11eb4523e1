"""Product-based Neural Network (Qu et al. 2016, "Product-based Neural Networks for User Response
Prediction", eq. 3-14).

l_1 = ReLU(l_z + l_p + b_1) with l_z linear in z = [e_1; ...; e_F] and l_p linear in the products
p, i.e. the first layer of a tower on [z; p]:
  IPNN: p = [<e_i, e_j>]_{i<j}            (FuxiCTR PNN, the BARS IPNN)
  OPNN: p = vec(f_Σ f_Σ^T), f_Σ = Σ_i e_i  (the outer product with superposition, eq. 14)
logit = Tower([z; p]).

Residual slots: every tower layer (`none` gives the published product network).
Defaults: BARS Frappe_x1 IPNN (hidden 400x3, dropout 0.3, no BatchNorm).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.features import FeatureSpec
from ctr.layers.embedding import FeatureEmbedding
from ctr.layers.product import inner_products, outer_product_sum
from ctr.layers.tower import Tower
from resnets import ConnectionFactory

PRODUCTS = ("inner", "outer")


class PNN(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    product: str = "inner"
    hidden: tuple[int, ...] = (400, 400, 400)
    activation: str = "relu"
    dropout: float = 0.3
    batch_norm: bool = False

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        if self.product not in PRODUCTS:
            raise ValueError(f"PNN product={self.product!r}; choose from {PRODUCTS}")
        emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
        b = emb_BxFxD.shape[0]
        if self.product == "inner":
            p_BxP = inner_products(emb_BxFxD)
        else:
            p_BxP = outer_product_sum(emb_BxFxD).reshape(b, -1)
        tower = Tower(
            tuple(self.hidden), self.connection, self.activation, self.dropout, self.batch_norm,
            name="tower",
        )  # fmt: skip
        x = jnp.concatenate([emb_BxFxD.reshape(b, -1), p_BxP], axis=-1)
        return tower(x, train=train, mask_B=batch.get("mask"))[:, 0]


class OPNN(PNN):
    """PNN with the outer-product layer (registry name "opnn")."""

    product: str = "outer"
