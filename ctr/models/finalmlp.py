"""FinalMLP (Mao et al. 2023, "FinalMLP: An Enhanced Two-Stream MLP Model for CTR Prediction",
eq. 1-6; FuxiCTR 2.0 FinalMLP).

e = [e_1; ...; e_F];  stream s: o_s = MLP_s(g_s ⊙ e), g_s = 2σ(MLP_gs(c_s)) (feature gating,
c_s the embedded `fs{s}_context` fields or a learned vector);
logit = w_1^T o_1 + w_2^T o_2 + b + Σ_h (o_1^h)^T W^h o_2^h (multi-head bilinear fusion).

Residual slots: every layer of both stream towers (`none` gives the published streams). The
small gate MLPs stay plain.
Defaults: the BARS Frappe_x1 streams (mlp1 (400,), mlp2 (100,), dropout 0.4 / 0.4, 5 heads)
with FuxiCTR's plain gate MLP (64,); BARS's Frappe_x1 run also uses BatchNorm in both streams,
a (400,) gate MLP and the user / item fields as gate contexts (experiments/sweeps.py
BARS_FRAPPE; without them valid AUC was 0.9435 against BARS's 0.9861).
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax

import resnets
from ctr.features import FeatureSpec
from ctr.layers.embedding import FeatureEmbedding
from ctr.layers.finalmlp import BilinearFusion, FeatureGate
from ctr.layers.tower import Tower
from resnets import ConnectionFactory


class FinalMLP(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    mlp1_hidden: tuple[int, ...] = (400,)
    mlp2_hidden: tuple[int, ...] = (100,)
    mlp1_dropout: float = 0.4
    mlp2_dropout: float = 0.4
    activation: str = "relu"
    batch_norm: bool = False
    use_fs: bool = True
    fs_hidden: tuple[int, ...] = (64,)
    fs1_context: tuple[str, ...] = ()
    fs2_context: tuple[str, ...] = ()
    num_heads: int = 5

    def _context(self, batch: dict[str, jax.Array], names: tuple[str, ...], name: str):
        if not names:
            return None
        spec = dataclasses.replace(
            self.spec, fields=tuple(self.spec.field(n) for n in names), user_field=None
        )
        emb = FeatureEmbedding(spec, dim=self.embedding_dim, name=name)(batch)
        return emb.reshape(emb.shape[0], -1)

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
        flat_BxI = emb_BxFxD.reshape(emb_BxFxD.shape[0], -1)
        x1, x2 = flat_BxI, flat_BxI
        if self.use_fs:
            plain = resnets.get("none")
            ctx1 = self._context(batch, tuple(self.fs1_context), "fs1_context")
            ctx2 = self._context(batch, tuple(self.fs2_context), "fs2_context")
            x1 = FeatureGate(tuple(self.fs_hidden), plain, name="fs1")(flat_BxI, ctx1)
            x2 = FeatureGate(tuple(self.fs_hidden), plain, name="fs2")(flat_BxI, ctx2)

        def stream(x, hidden, dropout, name):
            tower = Tower(
                tuple(hidden), self.connection, self.activation, dropout, self.batch_norm,
                out_dim=None, name=name,
            )  # fmt: skip
            return tower(x, train=train, mask_B=batch.get("mask"))

        o1 = stream(x1, self.mlp1_hidden, self.mlp1_dropout, "mlp1")
        o2 = stream(x2, self.mlp2_hidden, self.mlp2_dropout, "mlp2")
        return BilinearFusion(self.num_heads, name="fusion")(o1, o2)
