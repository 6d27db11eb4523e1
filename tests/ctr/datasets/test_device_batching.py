"""Device-resident batching: every row exactly once per epoch, padding masked, gather exact."""

import jax
import numpy as np
import pytest

from ctr.datasets import device


@pytest.mark.parametrize("num_rows,batch", [(10, 4), (12, 4), (3, 8), (1, 1)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_epoch_indices_cover_each_row_once(num_rows, batch, shuffle):
    key = jax.random.key(0) if shuffle else None
    idx, mask = map(np.asarray, device.epoch_indices(key, num_rows, batch))
    steps = -(-num_rows // batch)
    assert idx.shape == mask.shape == (steps, batch)
    real = idx[mask == 1]
    assert mask.sum() == num_rows
    np.testing.assert_array_equal(np.sort(real), np.arange(num_rows))
    # padding sits only at the end of the last batch
    np.testing.assert_array_equal(mask.ravel(), np.arange(steps * batch) < num_rows)
    if not shuffle:
        np.testing.assert_array_equal(real, np.arange(num_rows))


def test_shuffle_depends_on_key():
    a, _ = device.epoch_indices(jax.random.key(0), 100, 10)
    b, _ = device.epoch_indices(jax.random.key(1), 100, 10)
    assert not np.array_equal(np.asarray(a), np.asarray(b))


def test_gather_and_scan_sum_equals_host_sum():
    rng = np.random.default_rng(0)
    split = {"x": rng.integers(0, 9, 37).astype(np.int32), "label": rng.random(37, np.float32)}
    arrays = device.put_on_device(split)
    idx, mask = device.epoch_indices(jax.random.key(2), 37, 8)

    @jax.jit
    def total(arrays, idx, mask):
        def step(acc, im):
            batch = device.gather(arrays, *im)
            assert batch["x"].shape == (8,) and batch["mask"].shape == (8,)
            return acc + (batch["label"] * batch["mask"]).sum(), None

        return jax.lax.scan(step, 0.0, (idx, mask))[0]

    np.testing.assert_allclose(total(arrays, idx, mask), split["label"].sum(), rtol=1e-5)
    b = device.gather(arrays, idx[0], mask[0])
    np.testing.assert_array_equal(np.asarray(b["x"]), split["x"][np.asarray(idx[0])])
