"""Field embeddings and the first-order (linear) term shared by every CTR model.

Categorical field f with id i gets row E_f[i]; a numeric field gets v_f * x (BARS's numeric
embedding); a multihot field (a bag of ids, 0-padded) gets the mean of its ids' rows,
sum_i E_f[i] / #{i != PAD} (zero for an empty bag; FuxiCTR's MaskedAveragePooling); fields of
one group share a table. Tables are parameters named `table_<name>` so the
trainer can tell embedding parameters from the rest (embedding L2, parameter counts).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.features import PAD_ID, FeatureSpec

TABLE_PREFIX = "table_"
EMBED_INIT = nn.initializers.normal(stddev=1e-4)  # BARS/FuxiCTR initialise embeddings N(0, 1e-4)


def path_keys(path) -> tuple[str, ...]:
    """A jax key path (from tree_util's *_with_path functions) as names: dict keys, attribute
    names, or the key's own text."""
    return tuple(str(getattr(p, "key", getattr(p, "name", p))) for p in path)


def is_embedding_path(path: tuple[str, ...]) -> bool:
    """True for a parameter path that names an embedding table."""
    return any(str(p).startswith(TABLE_PREFIX) for p in path)


class FeatureEmbedding(nn.Module):
    """Embeds the categorical, multihot and numeric fields of `spec`: emb_BxFxD (sequence fields,
    the histories that sequence models read themselves, skipped).

    `dim` overrides the spec's per-field embedding_dim so all fields share one width D.
    """

    spec: FeatureSpec
    dim: int
    include_numeric: bool = True

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array]) -> jax.Array:
        tables: dict[str, jax.Array] = {}
        cols = []
        for f in self.spec.fields:
            if f.kind in ("categorical", "multihot") and f.table not in tables:
                tables[f.table] = self.param(
                    TABLE_PREFIX + f.table, EMBED_INIT, (f.vocab_size, self.dim)
                )
            if f.kind == "categorical":
                cols.append(jnp.take(tables[f.table], batch[f.name], axis=0))
            elif f.kind == "multihot":
                ids_BxL = batch[f.name]
                real_BxL = (ids_BxL != PAD_ID).astype(tables[f.table].dtype)
                rows_BxLxD = jnp.take(tables[f.table], ids_BxL, axis=0)
                count_B = jnp.maximum(real_BxL.sum(axis=1), 1.0)
                cols.append((rows_BxLxD * real_BxL[..., None]).sum(axis=1) / count_B[:, None])
            elif f.kind == "numeric" and self.include_numeric:
                v = self.param(TABLE_PREFIX + f.name, EMBED_INIT, (1, self.dim))
                cols.append(batch[f.name][:, None].astype(v.dtype) * v)
        if not cols:
            raise ValueError("FeatureEmbedding: the spec has no categorical or numeric fields")
        return jnp.stack(cols, axis=1)

    def table(self, name: str) -> jax.Array:
        return self.get_variable("params", TABLE_PREFIX + name)


class LinearTerm(nn.Module):
    """First-order term b + sum_f w_f[id_f] + sum_numeric w_f x_f -> logits_B."""

    spec: FeatureSpec

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array]) -> jax.Array:
        return FeatureEmbedding(self.spec, dim=1, name="weights")(batch).sum(axis=(1, 2)) + (
            self.param("bias", nn.initializers.zeros, ())
        )
