"""Mini-batch aware regularization (Zhou et al. 2018, "Deep Interest Network", eq. 4).

    L2(W) ≈ sum_j  1[j appears in the batch] / n_j · ||w_j||²

where w_j is embedding row j and n_j its number of occurrences in the training data: only rows
the batch touches are penalised (their gradient is exact zero elsewhere, so the sparse update
stays sparse) and frequent ids are regularised less per occurrence. PAD rows are never
penalised.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ctr.features import PAD_ID


def mba_regularizer(table_VxD: jax.Array, ids: jax.Array, freq_V: jax.Array) -> jax.Array:
    """sum over distinct non-PAD ids in `ids` of ||w_id||² / max(freq_id, 1): a scalar."""
    present_V = jnp.zeros(table_VxD.shape[0], table_VxD.dtype).at[ids.ravel()].set(1.0)
    present_V = present_V.at[PAD_ID].set(0.0)
    scale_V = present_V / jnp.maximum(freq_V.astype(table_VxD.dtype), 1.0)
    return jnp.sum(scale_V * jnp.sum(table_VxD * table_VxD, axis=1))
