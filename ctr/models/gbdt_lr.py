"""GBDT+LR (He et al. 2014, "Practical Lessons from Predicting Clicks on Ads at Facebook",
ADKDD, Sec. 3.1): a linear model on the leaves of boosted trees.

    head="lr":  logit = b + sum_t w_t[l_t(x)] + sum_f w_f[x_f]                  (LinearTerm)
    head="fm":  logit = the above + sum_{i<j} <e_i, e_j> over leaf and original fields  (FM)

l_t(x) is the leaf of tree t that x falls into; the runner builds those fields before the model
(`feature_transform = "gbdt"`: ctr.datasets.gbdt.prepare_for_model, which reads this model's
num_trees / num_leaves / tree_learning_rate / keep_original options), so the spec this module
sees already holds the "leaf_*" categorical fields, alongside the original ones by default.
On an untransformed spec it is plain LR (or FM) over the original fields.

Residual slots: none. Every family would train the same model, so compat lists gbdt_lr with
every family but `none`.
"""

from __future__ import annotations

from typing import ClassVar

import flax.linen as nn
import jax

from ctr.features import FeatureSpec
from ctr.layers.embedding import FeatureEmbedding, LinearTerm
from ctr.layers.fm import fm_interaction
from resnets import ConnectionFactory

HEADS = ("lr", "fm")


class GBDTLR(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10  # used by head="fm" only
    head: str = "lr"
    # the GBDT transform's options (read by the runner's hook; the paper's figures use ~30 trees)
    num_trees: int = 30
    num_leaves: int = 31
    tree_learning_rate: float = 0.1
    keep_original: bool = True

    feature_transform: ClassVar[str] = "gbdt"

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        del train
        if self.head not in HEADS:
            raise ValueError(f"gbdt_lr: head {self.head!r} is not one of {HEADS}")
        # a spec transformed with other options would silently mis-size the leaf tables
        leaf_vocab = {f.vocab_size for f in self.spec.fields if f.name.startswith("leaf_")}
        if leaf_vocab - {self.num_leaves + 2}:
            raise ValueError(
                f"gbdt_lr: leaf fields have vocab {sorted(leaf_vocab)} but num_leaves="
                f"{self.num_leaves} needs {self.num_leaves + 2}; rebuild the GBDT transform"
            )
        logits_B = LinearTerm(self.spec, name="linear")(batch)
        if self.head == "fm":
            emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
            logits_B = logits_B + fm_interaction(emb_BxFxD)
        return logits_B
