"""Contract checks every residual-stream family passes (a uniquely named test helper module),
and the stacks their oracles compare.

jit == eager, causality through the recorded states, 32 layers forward + backward, a width change
(input 5 -> width 8) and a 3-D (B x F x D) state. `Probe` is a block that sows its input, so a
test sees exactly what each layer read.
"""

from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from resnets_helpers import BATCH, DEPTH, WIDTH, randomize

import resnets
from resnets.blocks import MLP


class Probe(nn.Module):
    """f(x) = tanh(W x + b), sowing x as intermediates/block_k/input."""

    width: int = WIDTH

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        del train
        self.sow("intermediates", "input", x)
        return jnp.tanh(nn.Dense(self.width)(x))


def probe_stack(family: str, depth: int = DEPTH, shared=False, norm="ln", position="pre", **opts):
    factory = resnets.get(family, shared=shared, **opts)
    return resnets.ResidualStack(Probe, factory, depth, norm=norm, norm_position=position)


def run_with_inputs(model, params, x):
    """The stack's output and the input of every block, in layer order."""
    y, state = model.apply({"params": params}, x, mutable=["intermediates"])
    inter = state["intermediates"]
    return y, [inter[f"block_{k}"]["input"][0] for k in range(model.depth)]


def recorded_states(model, variables, x) -> list[jax.Array]:
    """intermediates/<conn>/state of every layer, in layer order (per-layer or shared)."""
    _, state = model.apply(variables, x, mutable=["intermediates"])
    inter = state["intermediates"]
    if "conn" in inter:
        return list(inter["conn"]["state"])
    depth = sum(name.startswith("conn_") for name in inter)
    return [inter[f"conn_{k}"]["state"][0] for k in range(depth)]


def check_jit_equals_eager(family: str, opts: dict, perturb: tuple[str, ...] = ()) -> None:
    model = probe_stack(family, **opts)
    x = jax.random.normal(jax.random.key(1), (BATCH, WIDTH))
    params = randomize(model.init(jax.random.key(0), x)["params"], perturb)
    eager = model.apply({"params": params}, x)
    jitted = jax.jit(lambda p, x: model.apply({"params": p}, x))(params, x)
    assert np.all(np.isfinite(eager))
    # float32 rounding is relative to the largest terms summed: an output near 0.5 made from
    # terms near 20 may differ by a few ulps of 20 between the fused and the op-by-op program
    scale = max(1.0, float(np.abs(eager).max()))
    np.testing.assert_allclose(eager, jitted, rtol=1e-5, atol=1e-6 * scale)


def check_causal(
    family: str, opts: dict, perturb: tuple[str, ...] = (), shared: bool = False, depth=DEPTH
) -> None:
    """d h_{k+1} / d θ_j = 0 for every block j > k, and != 0 for j <= k (so it can fail)."""
    model = probe_stack(family, depth=depth, shared=shared, **opts)
    x = jax.random.normal(jax.random.key(1), (BATCH, WIDTH))
    params = randomize(model.init(jax.random.key(0), x)["params"], perturb)

    def state(p, k):
        return recorded_states(model, {"params": p}, x)[k]

    for k in range(depth):
        r = jax.random.normal(jax.random.key(k), (BATCH, WIDTH))
        grads = jax.grad(lambda p, k=k, r=r: jnp.sum(state(p, k) * r))(params)
        for j in range(depth):
            norm = sum(float(jnp.abs(g).sum()) for g in jax.tree.leaves(grads[f"block_{j}"]))
            assert (norm == 0.0) if j > k else (norm > 0.0), (family, opts, shared, k, j)


def check_deep_stack(family: str, opts: dict, depth: int = 32, in_width: int = WIDTH) -> dict:
    """`depth` layers at init: finite loss and gradients, and the first block gets a gradient.
    Returns the gradients for family-specific checks."""
    stack = resnets.ResidualStack(partial(MLP, WIDTH), resnets.get(family, **opts), depth)
    x = jax.random.normal(jax.random.key(1), (16, in_width))
    params = jax.jit(stack.init)(jax.random.key(0), x)["params"]
    loss = lambda p: jnp.mean(stack.apply({"params": p}, x) ** 2)
    value, grads = jax.jit(jax.value_and_grad(loss))(params)
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
    assert np.abs(grads["block_0"]["Dense_0"]["kernel"]).sum() > 0.0
    return grads


def check_width_change(family: str, opts: dict) -> None:
    """Input width 5, blocks of width 8: the stack runs and is finite."""
    x = jax.random.normal(jax.random.key(2), (BATCH, 5))
    model = probe_stack(family, **opts)
    y = model.apply(model.init(jax.random.key(0), x), x)
    assert y.shape == (BATCH, WIDTH) and np.all(np.isfinite(y))


def check_width_change_matches_identity(family: str, opts: dict) -> None:
    """Input width 5, blocks of width 8: at init the family (mean readout) equals `identity`,
    which maps h_0 by the same bias-free projection conn_0/projection."""
    x = jax.random.normal(jax.random.key(2), (BATCH, 5))
    model = probe_stack(family, readout_mode="mean", **opts)
    params = model.init(jax.random.key(0), x)["params"]
    assert params["conn_0"]["projection"]["kernel"].shape == (5, WIDTH)
    assert "projection" not in params["conn_1"]
    y, _ = run_with_inputs(model, params, x)
    want, _ = identity_reference(model, params, x)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)


def check_3d_state(family: str, opts: dict, perturb: tuple[str, ...] = ()) -> None:
    """A B x F x D input (the attention slot's shape) is B·F independent rows: the same stack on
    the rows flattened to (B·F) x D gives the same output (trained-like parameters)."""
    model = probe_stack(family, norm="none", **opts)
    x = jax.random.normal(jax.random.key(4), (BATCH, 3, WIDTH))
    params = randomize(model.init(jax.random.key(0), x)["params"], perturb)
    y = model.apply({"params": params}, x)
    flat = model.apply({"params": params}, x.reshape(-1, WIDTH))
    assert y.shape == x.shape
    np.testing.assert_allclose(y, flat.reshape(x.shape), rtol=1e-5, atol=1e-6)


def identity_reference(model, params, x, **stack):
    """Output and block inputs of the `identity` stack that shares `model`'s blocks, norms and
    (where widths differ) input projection."""
    reference = probe_stack("identity", depth=model.depth, **stack)
    ref_params = reference.init(jax.random.key(3), x)["params"]
    ref_params = {
        k: {leaf: params[k][leaf] for leaf in v} if k.startswith("conn") else params[k]
        for k, v in ref_params.items()
    }
    return run_with_inputs(reference, ref_params, x)
