"""Device-resident batching: a split lives on the accelerator and is batched by index there.

The epoch's shuffled index matrix is built on the device too, so a jitted epoch
(`lax.scan` over the rows of `idx_SxB`) never touches the host. The ragged last batch is padded
with index 0 and masked out (`mask` = 0) so every step has one static shape.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def put_on_device(split: dict[str, np.ndarray], device=None) -> dict[str, jax.Array]:
    """Copies every column of a split to the device once."""
    return {k: jax.device_put(v, device) for k, v in split.items()}


def num_steps(num_rows: int, batch_size: int) -> int:
    return -(-num_rows // batch_size)


def epoch_indices(
    key: jax.Array | None, num_rows: int, batch_size: int
) -> tuple[jax.Array, jax.Array]:
    """(idx_SxB int32, mask_SxB float32): a (shuffled when key is given) pass over the rows."""
    steps = num_steps(num_rows, batch_size)
    order = jnp.arange(num_rows, dtype=jnp.int32)
    if key is not None:
        order = jax.random.permutation(key, order)
    pad = steps * batch_size - num_rows
    idx = jnp.concatenate([order, jnp.zeros((pad,), jnp.int32)]).reshape(steps, batch_size)
    mask = (jnp.arange(steps * batch_size) < num_rows).astype(jnp.float32)
    return idx, mask.reshape(steps, batch_size)


def gather(arrays: dict[str, jax.Array], idx_B: jax.Array, mask_B: jax.Array) -> dict:
    """One batch by index, with the padding mask under "mask"."""
    # epoch_indices only yields valid rows, so "clip" changes nothing but skips the bounds
    # masking of the default "fill" mode: ~4x faster per step on CPU (bench/data.py).
    batch = {k: jnp.take(v, idx_B, axis=0, mode="clip") for k, v in arrays.items()}
    batch["mask"] = mask_B
    return batch
