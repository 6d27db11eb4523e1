"""DIEN's in-batch negatives: uniform over the real (unpadded) positions of the batch."""

import jax
import jax.numpy as jnp
import numpy as np

from ctr.models.dien import in_batch_negatives


def test_negatives_are_uniform_over_real_positions_only():
    mask_BxL = jnp.array([[1, 1, 0], [1, 0, 0]], jnp.float32)
    hist_BxLxE = jnp.arange(6, dtype=jnp.float32).reshape(2, 3, 1)  # value = flat position
    neg = np.asarray(in_batch_negatives(jax.random.key(0), hist_BxLxE, mask_BxL, 6000))
    assert neg.shape == (2, 6000, 1)
    values, counts = np.unique(neg, return_counts=True)
    np.testing.assert_array_equal(values, [0.0, 1.0, 3.0])  # padded positions 2, 4, 5 never
    np.testing.assert_allclose(counts / counts.sum(), 1 / 3, atol=0.02)
