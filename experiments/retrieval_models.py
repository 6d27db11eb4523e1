"""Next-item retrieval models: a user vector u from the history, scored against every item
vector v_i of the shared item table by s_i = <u, v_i> (the last-layer form of every model here).

popularity   s_i = train-split count of item i (no parameters, no training).
youtube_dnn  Covington et al. 2016 sec. 3 (ctr.models.youtube_dnn.YouTubeCandidate):
             u = Tower(mean of the history's item embeddings), trained with a sampled softmax
             over log-uniform negatives with logQ correction (sec. 3.2, "importance weighting").
sasrec       Kang & McAuley 2018 ("Self-Attentive Sequential Recommendation"), in the form of
             ICLRec's SASRec encoder: u = LN(TransformerStack(e_hist + pos) at the last item).
gru4rec      Hidasi et al. 2016: u = GRU state at the last item.
sasrec and gru4rec are trained with softmax cross-entropy over all items on the next item
(ctr.layers.sampled_softmax.full_softmax_loss): each train row is one prefix -> next item, so
the Transformer may attend in both directions inside the prefix without seeing the target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

import resnets
from ctr.features import PAD_ID, FeatureSpec, Field
from ctr.layers.embedding import TABLE_PREFIX
from ctr.layers.sampled_softmax import full_softmax_loss
from ctr.layers.sequence import ResidualRecurrentStack, ResidualTransformerStack, last_valid
from ctr.models.youtube_dnn import YouTubeCandidate, youtube_candidate_loss


@dataclasses.dataclass(frozen=True)
class Settings:
    """A model's settings, each from its paper or a public reference configuration (SOURCES)."""

    embedding_dim: int = 64
    batch_size: int = 256
    lr: float = 1e-3
    dropout: float = 0.0
    depth: int = 1
    num_heads: int = 2
    hidden: tuple[int, ...] = ()
    num_sampled: int = 0


SETTINGS = {
    "popularity": Settings(),
    # Covington et al. 2016 sec. 3.4: the depth-3 tower 1024 -> 512 -> 256 ReLU; "several
    # thousand" sampled negatives (for millions of videos; here 2,000 of ~12k items). Width 64,
    # batch 256 and Adam 1e-3 as the sequence models, so the loss is the only difference.
    "youtube_dnn": Settings(hidden=(1024, 512, 256), num_sampled=2000),
    # ICLRec's SASRec encoder (salesforce/ICLRec src/main.py defaults): hidden 64, 2 layers,
    # 2 heads, dropout 0.5, max_len 50, Adam lr 1e-3, batch 256.
    "sasrec": Settings(depth=2, num_heads=2, dropout=0.5),
    # GRU4Rec's encoder (one GRU layer) with ICLRec's shared settings: width 64, batch 256, Adam
    # 1e-3, max_len 50 (GRU4Rec's paper trains session-parallel mini-batches with TOP1/BPR losses).
    "gru4rec": Settings(depth=1),
}
MODELS = tuple(SETTINGS)


class SequenceUser(nn.Module):
    """hist_BxL -> (u_BxE, item table VxE) with a Transformer or GRU stack (identity residuals)."""

    num_ids: int
    settings: Settings
    block: str  # "transformer" | "gru"

    @nn.compact
    def __call__(self, hist_BxL: jax.Array, *, train: bool = False):
        s = self.settings
        table_VxE = self.param(
            TABLE_PREFIX + "item", nn.initializers.normal(0.02), (self.num_ids, s.embedding_dim)
        )
        mask_BxL = hist_BxL != PAD_ID
        x_BxLxE = nn.Dropout(s.dropout, deterministic=not train)(table_VxE[hist_BxL])
        identity = resnets.get("identity")
        if self.block == "transformer":
            stack = ResidualTransformerStack(identity, s.depth, s.num_heads, s.dropout)
            h_BxLxE = stack(x_BxLxE, mask_BxL, train=train)
            return nn.LayerNorm()(last_valid(h_BxLxE, mask_BxL)), table_VxE
        h_BxLxE = ResidualRecurrentStack("gru", identity, s.depth)(x_BxLxE, mask_BxL, train=train)
        return last_valid(h_BxLxE, mask_BxL), table_VxE


class YouTubeUser(nn.Module):
    """YouTubeCandidate over a spec of one history field `hist` sharing the `item` table."""

    num_ids: int
    settings: Settings
    max_len: int

    @nn.compact
    def __call__(self, hist_BxL: jax.Array, *, train: bool = False):
        fields = (
            Field(name="item", kind="categorical", vocab_size=self.num_ids, group="item"),
            Field(
                name="hist", kind="sequence", vocab_size=self.num_ids, group="item",
                max_len=self.max_len,
            ),
        )  # fmt: skip
        model = YouTubeCandidate(
            FeatureSpec(fields=fields),
            resnets.get("none"),  # the paper's tower is a plain ReLU stack
            embedding_dim=self.settings.embedding_dim,
            hidden=self.settings.hidden,
        )
        # "item" (the target) is not read by the user tower; zeros keep it out of the input
        return model({"hist": hist_BxL, "item": jnp.zeros(hist_BxL.shape[:1], jnp.int32)})


@dataclasses.dataclass(frozen=True)
class Retriever:
    """module(hist_BxL, train=...) -> (u_BxE, table_VxE); loss(u, table, pos_B, key) -> mean."""

    module: nn.Module
    loss: Callable[[jax.Array, jax.Array, jax.Array, jax.Array], jax.Array]


def build(name: str, num_ids: int, max_len: int) -> Retriever:
    """The trainable models of SETTINGS (not popularity, which has no parameters)."""
    s = SETTINGS[name]
    if name == "youtube_dnn":

        def sampled(u, table, pos, key):
            return youtube_candidate_loss(u, table, pos, key, num_sampled=s.num_sampled)

        return Retriever(YouTubeUser(num_ids, s, max_len), sampled)
    if name in ("sasrec", "gru4rec"):
        block = "transformer" if name == "sasrec" else "gru"
        return Retriever(
            SequenceUser(num_ids, s, block),
            lambda u, table, pos, key: full_softmax_loss(u, table, pos).mean(),
        )
    trainable = [m for m in MODELS if m != "popularity"]
    raise ValueError(f"model {name!r} has no trainable form; choose from {trainable}")
