"""Tower with `activation_after_merge` (ResNet v1 placement) and `zero_init_residual` against
hand-written formulas."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import resnets
from ctr.layers.tower import Tower
from resnets.blocks import MLP

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


@pytest.mark.parametrize("depth", [1, 4])
def test_zero_init_residual_starts_every_layer_as_relu_of_its_input(depth):
    """γ = 0 makes BN(W h + b) = β = 0: h_{k+1} = ReLU(h_k + 0), so h_L = ReLU(h_0) at any depth."""
    tower = Tower((6,) * depth, resnets.get("identity"), batch_norm=True, out_dim=None,
                  activation_after_merge=True, zero_init_residual=True)  # fmt: skip
    variables = tower.init(jax.random.key(0), _x(), train=False)
    scales = [b["BatchNorm_0"]["scale"] for b in variables["params"].values()]
    assert len(scales) == depth and all((s == 0).all() for s in scales)
    np.testing.assert_array_equal(_apply(tower, variables, True), jax.nn.relu(_x()))


def test_zero_init_residual_scales_receive_a_gradient():
    tower = Tower(HIDDEN, resnets.get("identity"), batch_norm=True, activation_after_merge=True,
                  zero_init_residual=True)  # fmt: skip
    variables = tower.init(jax.random.key(0), _x(), train=False)

    def loss(params):
        out, _ = tower.apply({**variables, "params": params}, _x(), train=True,
                             mutable=["batch_stats"])  # fmt: skip
        return (out**2).mean()

    grads = jax.grad(loss)(variables["params"])
    for k in range(len(HIDDEN)):
        assert jnp.abs(grads[f"block_{k}"]["BatchNorm_0"]["scale"]).sum() > 0


@pytest.mark.parametrize(
    "family, options, message",
    [
        ("identity", dict(activation_after_merge=True), "needs batch_norm=True"),
        ("identity", dict(batch_norm=True), "needs activation_after_merge=True"),
        ("none", dict(batch_norm=True, activation_after_merge=True), "needs a residual family"),
    ],
)
def test_zero_init_residual_refuses_what_it_cannot_do(family, options, message):
    tower = Tower(HIDDEN, resnets.get(family), zero_init_residual=True, **options)
    with pytest.raises(ValueError, match=message):
        tower.init(jax.random.key(0), _x())


def test_an_mlp_block_refuses_a_zero_scale_without_batch_norm():
    with pytest.raises(ValueError, match="zero_bn_scale .* needs batch_norm=True"):
        MLP(6, zero_bn_scale=True).init(jax.random.key(0), _x())
