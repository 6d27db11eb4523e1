"""Contract checks any residual-stream family should pass (a uniquely named test helper module).

Each takes a family name and options and builds MLP stacks with resnets_helpers.mlp_stack.
"""

import jax
import jax.numpy as jnp
import numpy as np
from resnets_helpers import BATCH, WIDTH, mlp_stack


def recorded_states(model, variables, x) -> list[jax.Array]:
    """intermediates/<conn>/state of every layer, in layer order (per-layer or shared)."""
    _, state = model.apply(variables, x, mutable=["intermediates"])
    inter = state["intermediates"]
    if "conn" in inter:
        return list(inter["conn"]["state"])
    depth = sum(name.startswith("conn_") for name in inter)
    return [inter[f"conn_{k}"]["state"][0] for k in range(depth)]


def check_jit_equals_eager(family: str, x, **opts) -> None:
    model = mlp_stack(family, **opts)
    variables = model.init(jax.random.key(0), x)
    eager = model.apply(variables, x)
    jitted = jax.jit(model.apply)(variables, x)
    assert np.all(np.isfinite(eager))
    np.testing.assert_allclose(eager, jitted, rtol=1e-5, atol=1e-6)


def check_causal(family: str, x, depth: int = 3, shared: bool = False, **opts) -> None:
    """d state_k / d θ_j = 0 for every block j > k, and != 0 for j <= k (so it can fail)."""
    model = mlp_stack(family, depth=depth, shared=shared, activation="tanh", **opts)
    params = model.init(jax.random.key(0), x)["params"]

    def state(p, k):
        return recorded_states(model, {"params": p}, x)[k]

    for k in range(depth):
        r = jax.random.normal(jax.random.key(k), state(params, k).shape)
        grads = jax.grad(lambda p, k=k, r=r: jnp.sum(state(p, k) * r))(params)
        for j in range(depth):
            norm = sum(float(jnp.abs(g).sum()) for g in jax.tree.leaves(grads[f"block_{j}"]))
            assert (norm == 0.0) if j > k else (norm > 0.0), (family, opts, k, j)


def check_deep_gradient(family: str, depth: int = 32, **opts) -> None:
    """`depth` layers forward + backward: finite, and the first block gets a gradient."""
    model = mlp_stack(family, depth=depth, **opts)
    x = jax.random.normal(jax.random.key(1), (16, WIDTH))
    params = jax.jit(model.init)(jax.random.key(0), x)["params"]
    loss = lambda p: jnp.mean(model.apply({"params": p}, x) ** 2)
    value, grads = jax.jit(jax.value_and_grad(loss))(params)
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
    assert np.abs(grads["block_0"]["Dense_0"]["kernel"]).sum() > 0.0


def check_width_change_and_3d(family: str, **opts) -> None:
    """Input width 5 -> stack width 8 works; a B x F x D state equals its rows stacked as B*F."""
    x5 = jax.random.normal(jax.random.key(2), (BATCH, 5))
    model = mlp_stack(family, **opts)
    variables = model.init(jax.random.key(0), x5)
    assert model.apply(variables, x5).shape == (BATCH, WIDTH)
    x3 = jax.random.normal(jax.random.key(3), (BATCH, 3, WIDTH))
    variables = model.init(jax.random.key(0), x3)
    y3 = model.apply(variables, x3)
    rows = model.apply(variables, x3.reshape(BATCH * 3, WIDTH)).reshape(BATCH, 3, WIDTH)
    np.testing.assert_allclose(y3, rows, rtol=1e-5, atol=1e-6)
