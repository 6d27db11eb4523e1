"""resnets.stack.stored_on_cpu: the exact identity that keeps XLA's CPU fusion pass from
recomputing a residual stream in every consumer (why: its docstring, bench/deep_tower.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from resnets.stack import stored_on_cpu

pytestmark = pytest.mark.skipif(jax.default_backend() != "cpu", reason="CPU backend only")


def test_stored_state_is_the_state_and_passes_the_gradient():
    store = stored_on_cpu()
    edge = [1.5, -0.0, 0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4e38, -2.0]
    h = jnp.asarray(edge, jnp.float32)
    out = np.asarray(jax.jit(store)(h))
    # XLA's CPU arithmetic flushes subnormals (1e-45) to zero: any op producing the state does
    h_np = np.asarray(h)
    want = np.where(np.abs(h_np) < np.finfo(np.float32).tiny, np.copysign(0.0, h_np), h_np)
    np.testing.assert_array_equal(out.view(np.uint32), want.view(np.uint32))
    finite = jnp.isfinite(h)
    grad = jax.grad(lambda x: jnp.sum(jnp.where(finite, store(x), 0.0)))(h)
    np.testing.assert_array_equal(np.asarray(grad)[np.asarray(finite)], 1.0)
    half = jnp.asarray(edge[:3], jnp.bfloat16)
    assert store(half).dtype == jnp.bfloat16 and np.array_equal(store(half), half)
