"""Next-item retrieval models: a user vector u from the history, scored against every item
vector v_i of the shared item table by s_i = <u, v_i> (the last-layer form of every model here).

popularity   s_i = train-split count of item i (no parameters, no training).
youtube_dnn  Covington et al. 2016 sec. 3 (ctr.models.youtube_dnn.YouTubeCandidate):
             u = Tower(mean of the history's item embeddings), trained with a sampled softmax
             over log-uniform negatives with logQ correction (sec. 3.2, "importance weighting"),
             one row per prefix.
sasrec       Kang & McAuley 2018 ("Self-Attentive Sequential Recommendation"), in the form of
             ICLRec's SASRec encoder: h_t = LN(causal TransformerStack(e_x + pos) at t); u = h at
             the last item. Trained as SASRec: one row per user sequence, softmax cross-entropy
             over all items (ctr.layers.sampled_softmax.full_softmax_loss) at every real position
             t on x_{t+1}, averaged over the real positions of the batch (`sequence_loss`).
gru4rec      Hidasi et al. 2016: u = GRU state at the last item; softmax cross-entropy over all
             items, one row per prefix -> next item.

What differs from ICLRec's SASRec (salesforce/ICLRec src/models.py SASRecModel, src/modules.py,
src/trainers.py `cross_entropy`): its loss is a binary cross-entropy of the next item against
ONE sampled negative per position (drawn outside the user's sequence), ours the full softmax;
its layers are post-norm (BERT: LN(x + f(x)), LN on the item + position embedding), ours
pre-norm with a final LN; its sequences are left-padded (the last item always at position
max_len - 1), ours right-padded (positions count from the first item of the row); its weights
are N(0, 0.02), ours flax defaults with zero-initialised residual outputs (each block starts as
the identity). Depth, heads, width, dropout, max_len, Adam and batch are its defaults (SETTINGS).
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
from experiments.retrieval_data import ROW_FORMS


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
    rows: str = "prefix"  # the train row form it learns from (retrieval_data.ROW_FORMS)

    def __post_init__(self):
        if self.rows not in ROW_FORMS:
            raise ValueError(f"Settings.rows {self.rows!r}; choose from {ROW_FORMS}")


SETTINGS = {
    "popularity": Settings(),
    # Covington et al. 2016 sec. 3.4: the depth-3 tower 1024 -> 512 -> 256 ReLU; "several
    # thousand" sampled negatives (for millions of videos; here 2,000 of ~12k items). Width 64,
    # batch 256 and Adam 1e-3 as the sequence models, so the loss is the only difference.
    "youtube_dnn": Settings(hidden=(1024, 512, 256), num_sampled=2000),
    # ICLRec's SASRec encoder (salesforce/ICLRec src/main.py defaults, which its README's run
    # command keeps): hidden_size 64, num_hidden_layers 2, num_attention_heads 2, hidden and
    # attention dropout 0.5, max_seq_length 50, Adam lr 1e-3 (betas 0.9, 0.999, no weight
    # decay), batch 256 user sequences; SASRec's paper also stacks 2 blocks (dropout 0.5 on
    # the sparse Amazon sets).
    "sasrec": Settings(depth=2, num_heads=2, dropout=0.5, rows="sequence"),
    # GRU4Rec's encoder (one GRU layer) with ICLRec's shared settings: width 64, batch 256, Adam
    # 1e-3, max_len 50 (GRU4Rec's paper trains session-parallel mini-batches with TOP1/BPR losses).
    "gru4rec": Settings(depth=1),
}
MODELS = tuple(SETTINGS)


class SequenceUser(nn.Module):
    """hist_BxL -> (u_BxE, item table VxE) with a causal Transformer or a GRU stack (identity
    residuals); with every_position, the states of every position (B, L, E) instead of u."""

    num_ids: int
    settings: Settings
    block: str  # "transformer" | "gru"
    every_position: bool = False

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
            stack = ResidualTransformerStack(identity, s.depth, s.num_heads, s.dropout, causal=True)
            h_BxLxE = nn.LayerNorm()(stack(x_BxLxE, mask_BxL, train=train))
        else:
            stack = ResidualRecurrentStack("gru", identity, s.depth)
            h_BxLxE = stack(x_BxLxE, mask_BxL, train=train)
        return h_BxLxE if self.every_position else last_valid(h_BxLxE, mask_BxL), table_VxE


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


def sequence_loss(h_BxLxE, table_VxE, targets: tuple[jax.Array, jax.Array]) -> jax.Array:
    """Full-softmax cross-entropy of h_t against target_t, averaged over the real positions
    (target != PAD). targets = (target_BxL, where_P): where_P lists flat positions b * L + t
    holding every real one (and padding positions up to a fixed P), so the softmax over the
    items runs on P rows rather than B * L."""
    target_BxL, where_P = targets
    h_PxE = h_BxLxE.reshape(-1, h_BxLxE.shape[-1])[where_P]
    target_P = target_BxL.reshape(-1)[where_P]
    real_P = (target_P != PAD_ID).astype(h_PxE.dtype)
    loss_P = full_softmax_loss(h_PxE, table_VxE, target_P)
    return (loss_P * real_P).sum() / jnp.maximum(real_P.sum(), 1.0)


@dataclasses.dataclass(frozen=True)
class Retriever:
    """module(hist_BxL, train=...) -> (u_BxE, table_VxE) scores the catalogue; train_module
    (the same parameters) gives what loss(out, table, targets, key) -> mean reads, in the train
    row form of the model's Settings.rows."""

    module: nn.Module
    train_module: nn.Module
    loss: Callable[[jax.Array, jax.Array, jax.Array, jax.Array], jax.Array]


def build(name: str, num_ids: int, max_len: int) -> Retriever:
    """The trainable models of SETTINGS (not popularity, which has no parameters)."""
    s = SETTINGS[name]
    if name == "youtube_dnn":
        if s.rows != "prefix":
            raise ValueError(f"youtube_dnn: rows={s.rows!r}; its order-free tower has one output "
                             "per history, so it trains on rows='prefix' only")  # fmt: skip

        def sampled(u, table, pos, key):
            return youtube_candidate_loss(u, table, pos, key, num_sampled=s.num_sampled)

        module = YouTubeUser(num_ids, s, max_len)
        return Retriever(module, module, sampled)
    if name in ("sasrec", "gru4rec"):
        block = "transformer" if name == "sasrec" else "gru"
        module = SequenceUser(num_ids, s, block)
        if s.rows == "sequence":  # both stacks are causal: position t reads items 1..t only
            every = SequenceUser(num_ids, s, block, every_position=True)
            return Retriever(module, every, lambda h, table, tgt, key: sequence_loss(h, table, tgt))
        return Retriever(
            module, module, lambda u, table, pos, key: full_softmax_loss(u, table, pos).mean()
        )
    trainable = [m for m in MODELS if m != "popularity"]
    raise ValueError(f"model {name!r} has no trainable form; choose from {trainable}")
