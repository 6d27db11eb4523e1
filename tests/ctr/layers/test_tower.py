"""Tower with `activation_after_merge` (ResNet v1 placement) against hand-written formulas."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import resnets
from ctr.layers.tower import Tower

HIDDEN = (6, 6, 6)
EPS = 1e-5  # flax BatchNorm's epsilon


def _x():
    return jax.random.normal(jax.random.key(1), (32, 6))


def _init(tower: Tower):
    variables = tower.init(jax.random.key(0), _x(), train=False)
    # random running statistics, so eval mode tests more than BN(y) = y
    stats = jax.tree.map(
        lambda s: s + jax.random.uniform(jax.random.key(2), s.shape, minval=0.5, maxval=1.5),
        variables["batch_stats"],
    )
    return {**variables, "batch_stats": stats}


def _bn(y, block, stats, train):
    mean, var = (y.mean(0), y.var(0)) if train else (stats["mean"], stats["var"])
    return (y - mean[None]) / jnp.sqrt(var[None] + EPS) * block["scale"][None] + block["bias"][None]


def _branch(params, stats, h, k, train):
    """BN(W_k h + b_k), block k's pre-activation output."""
    block = params[f"block_{k}"]
    y = h @ block["Dense_0"]["kernel"] + block["Dense_0"]["bias"][None]
    return _bn(y, block["BatchNorm_0"], stats[f"block_{k}"]["BatchNorm_0"], train)


def _apply(tower, variables, train):
    out, _ = tower.apply(variables, _x(), train=train, mutable=["batch_stats"])
    return out


@pytest.mark.parametrize("train", [False, True])
def test_plain_after_merge_is_the_plain_tower(train):
    before = Tower(HIDDEN, resnets.get("none"), batch_norm=True, out_dim=None)
    after = Tower(HIDDEN, resnets.get("none"), batch_norm=True, out_dim=None,
                  activation_after_merge=True)  # fmt: skip
    variables = _init(before)
    assert jax.tree.structure(variables) == jax.tree.structure(_init(after))
    np.testing.assert_array_equal(_apply(after, variables, train), _apply(before, variables, train))


@pytest.mark.parametrize("train", [False, True])
def test_identity_after_merge_is_relu_of_h_plus_bn_branch(train):
    tower = Tower(HIDDEN, resnets.get("identity"), batch_norm=True, activation_after_merge=True)
    variables = _init(tower)
    params, stats = variables["params"], variables["batch_stats"]
    h = _x()
    for k in range(len(HIDDEN)):
        h = jax.nn.relu(h + _branch(params, stats, h, k, train))
    out = params["out"]
    expected = h @ out["kernel"] + out["bias"][None]
    np.testing.assert_allclose(_apply(tower, variables, train), expected, rtol=1e-5, atol=1e-6)


def test_identity_without_after_merge_keeps_the_relu_in_the_branch():
    tower = Tower(HIDDEN, resnets.get("identity"), batch_norm=True, out_dim=None)
    variables = _init(tower)
    params, stats = variables["params"], variables["batch_stats"]
    h = _x()
    for k in range(len(HIDDEN)):
        h = h + jax.nn.relu(_branch(params, stats, h, k, False))
    np.testing.assert_allclose(_apply(tower, variables, False), h, rtol=1e-5, atol=1e-6)


def test_after_merge_refuses_a_fused_family():
    tower = Tower(HIDDEN, resnets.get("dag"), activation_after_merge=True)
    with pytest.raises(ValueError, match="dag rewires the tower.*activation_after_merge=False"):
        tower.init(jax.random.key(0), _x())
