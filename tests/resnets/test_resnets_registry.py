"""The registry loop: every family × every block inits, is finite, has the right shape, and gives
the same result jitted and eager; deep stacks pass gradients to their first layer."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from resnets_helpers import BATCH, WIDTH

import resnets
from resnets.blocks import (
    GRU,
    LSTM,
    MLP,
    MLR,
    Polynomial,
    Product,
    SequenceResidual,
    TransformerBlock,
)

FAMILIES = {
    "none": {},
    "identity": {},
    "concat": {},
    "scaled": {"beta": "channel", "w": "lowrank"},
    "rezero": {},
    "gated": {},
    "dense": {"granularity": "channel", "gates": True, "l1": 0.1},
    "dag": {"preset": "full"},
    "attnres": {"block": 2},
    "deres": {"gate": "dynamic"},
    "laurel": {"variant": "rw+lr+pa"},
    "residual": {},
    "hyper": {"dynamic": True},
    "mhc": {},
}
assert set(FAMILIES) == set(resnets.CONNECTIONS), "a new family must join the registry loop"
BLOCKS = {
    "mlp": partial(MLP, WIDTH, "dice"),
    "mlr": partial(MLR, WIDTH),
    "polynomial": partial(Polynomial, WIDTH),
    "product": partial(Product, WIDTH),
}
SEQUENCE_BLOCKS = {
    "gru": lambda: GRU(4),
    "lstm": lambda: LSTM(3, bidirectional=True),
    "transformer": lambda: TransformerBlock(num_heads=2),
}


def _expected_width(family: str, depth: int) -> int:
    return WIDTH * (depth + 1) if family == "concat" else WIDTH


def _check(model, x, width, **kwargs):
    variables = jax.jit(partial(model.init, **kwargs))(jax.random.key(0), x)
    params = {k: v for k, v in variables.items() if k != "losses"}
    eager = model.apply(params, x, **kwargs)
    jitted = jax.jit(lambda p, x: model.apply(p, x, **kwargs))(params, x)
    assert eager.shape == x.shape[:-1] + (width,)
    assert np.all(np.isfinite(eager))
    np.testing.assert_allclose(eager, jitted, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_family_times_block(family, block):
    if family == "dag" and block != "mlp":
        with pytest.raises(ValueError, match="dag needs MLP blocks"):
            resnets.ResidualStack(BLOCKS[block], resnets.get("dag"), 2).init(
                jax.random.key(0), jnp.ones((BATCH, WIDTH))
            )
        return
    block_fn = partial(MLP, WIDTH, "tanh") if family == "dag" else BLOCKS[block]  # dag: no dice
    stack = resnets.ResidualStack(block_fn, resnets.get(family, **FAMILIES[family]), 2)
    x = jax.random.normal(jax.random.key(1), (BATCH, WIDTH))
    _check(stack, x, _expected_width(family, 2))


@pytest.mark.parametrize("family", sorted(set(FAMILIES) - {"dag"}))
@pytest.mark.parametrize("block", sorted(SEQUENCE_BLOCKS))
def test_family_times_sequence_block(family, block):
    factory = resnets.get(family, **FAMILIES[family])
    layer = SequenceResidual(SEQUENCE_BLOCKS[block](), factory, zero_init=False)
    x = jax.random.normal(jax.random.key(1), (2, 3, WIDTH))
    _check(layer, x, _expected_width(family, 1))


DEEP = 32


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_deep_stack_passes_gradient_to_first_layer(family):
    """32 layers, forward + backward at init: finite, and the first kernel gets a gradient.

    rezero starts every β at 0, so no block output reaches the loss and the first kernel's
    gradient is exactly 0 by design; there we check that β_0 gets a gradient instead.
    """
    opts = {"preset": "full"} if family == "dag" else {}
    stack = resnets.ResidualStack(partial(MLP, WIDTH), resnets.get(family, **opts), DEEP)
    x = jax.random.normal(jax.random.key(1), (16, WIDTH))
    params = jax.jit(stack.init)(jax.random.key(0), x)["params"]
    loss = lambda p: jnp.mean(stack.apply({"params": p}, x) ** 2)
    value, grads = jax.jit(jax.value_and_grad(loss))(params)
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
    if family == "dag":
        first = grads["dag"]["kernel"][:WIDTH, :WIDTH]  # input -> layer 1 block
    else:
        first = grads["block_0"]["Dense_0"]["kernel"]
    if family == "rezero":
        assert np.all(first == 0.0)
        assert grads["conn_0"]["beta"] != 0.0
    else:
        assert np.abs(first).sum() > 0.0
