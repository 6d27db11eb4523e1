"""AutoInt and AutoInt+ (Song et al. 2019, "AutoInt: Automatic Feature Interaction Learning via
Self-Attentive Neural Networks", eq. 5-9; FuxiCTR 1.2 AutoInt).

h_0 = [e_1, ..., e_F] (B x F x D);  h_{l+1} = ReLU(MHSA(h_l) + W_res h_l)  (eq. 8, W_res only when
widths differ; `layer_norm` puts a LayerNorm before the ReLU, as FuxiCTR's option does);
attention logit = w^T vec(h_L) + b (eq. 9). AutoInt+ adds a tower on [e_1; ...; e_F]:
logit = attention + Tower (+ LR with use_wide).

Residual slots:
  * the attention layers (ctr.layers.attention.SelfAttentionStack): the published "+ W_res h_l"
    is the built-in shortcut; `none` keeps it, every other family replaces it,
    h_{l+1} = ReLU(connection(hist, MHSA(h_l))), builtin_shortcut=False removes it (use_residual
    False); fixed width (`concat` projects);
  * AutoInt+: every tower layer, and the attention + deep sum (ctr.layers.slots.Combine;
    combine="sum" pins it). AutoInt alone has no tower, so `dag` has nothing to rewire (compat).
Defaults: BARS Frappe_x1 (AutoInt: 6 layers; AutoInt+: 5 layers, tower 400x3, dropout 0.1,
BatchNorm; both 4 heads, attention_dim 128). `dropout` is FuxiCTR's net_dropout: it also drops
attention weights.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from ctr.features import FeatureSpec
from ctr.layers.attention import SelfAttentionStack
from ctr.layers.embedding import FeatureEmbedding, LinearTerm
from ctr.layers.slots import Combine
from ctr.layers.tower import Tower
from resnets import ConnectionFactory


class AutoInt(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    attention_layers: int = 6
    num_heads: int = 4
    attention_dim: int = 128
    use_scale: bool = False
    builtin_shortcut: bool = True
    layer_norm: bool = False
    use_wide: bool = False
    hidden: tuple[int, ...] = ()
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False
    combine: str = "connection"  # ctr.layers.slots.COMBINE

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
        b = emb_BxFxD.shape[0]
        stack = SelfAttentionStack(
            self.attention_layers, self.attention_dim, self.connection, self.num_heads,
            self.use_scale, self.dropout, self.builtin_shortcut, self.layer_norm,
            name="attention",
        )  # fmt: skip
        attn_B = nn.Dense(1, name="attention_out")(stack(emb_BxFxD, train=train).reshape(b, -1))
        logit_B = attn_B[:, 0]
        if self.use_wide:
            logit_B = logit_B + LinearTerm(self.spec, name="linear")(batch)
        # built before the tower check, so a typo in `combine` is an error even without a tower
        combine = Combine(self.connection, self.combine, name="combine")
        if not self.hidden:
            return logit_B
        tower = Tower(
            tuple(self.hidden), self.connection, self.activation, self.dropout, self.batch_norm,
            name="tower",
        )  # fmt: skip
        deep_B = tower(emb_BxFxD.reshape(b, -1), train=train, mask_B=batch.get("mask"))[:, 0]
        return combine(logit_B, deep_B, train=train)


class AutoIntPlus(AutoInt):
    """AutoInt+ (registry name "autoint_plus"): attention plus a deep tower."""

    attention_layers: int = 5
    hidden: tuple[int, ...] = (400, 400, 400)
    dropout: float = 0.1
    batch_norm: bool = True
