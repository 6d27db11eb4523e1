"""The neuron-level DAG tower: reduction to a plain MLP, causality, brute-force oracle."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import resnets
from resnets.blocks import MLP
from resnets.dag import DagTower, structure

N_IN, HIDDEN = 5, (4, 4, 4)


def _x():
    return jax.random.normal(jax.random.key(3), (6, N_IN))


@pytest.mark.parametrize("group", [1, 2, 4])
def test_mlp_init_equals_plain_mlp_with_same_weights(group):
    x = _x()
    mlp = resnets.ResidualStack(partial(MLP, 4, "tanh"), resnets.get("none"), len(HIDDEN))
    mlp_params = mlp.init(jax.random.key(0), x)["params"]
    dag = DagTower(HIDDEN, "tanh", group=group)
    kernel = np.array(dag.init(jax.random.key(1), x)["params"]["kernel"])
    _, is_mlp = structure(N_IN, HIDDEN, group)
    assert np.all(kernel[~is_mlp] == 0.0), "init='mlp' must leave every other edge at zero"
    rows = np.cumsum((0, N_IN) + HIDDEN)
    for layer in range(len(HIDDEN)):
        dense = mlp_params[f"block_{layer}"]["Dense_0"]
        cols = slice(rows[layer + 1] - N_IN, rows[layer + 2] - N_IN)
        kernel[rows[layer] : rows[layer + 1], cols] = dense["kernel"]
    bias = np.concatenate([mlp_params[f"block_{i}"]["Dense_0"]["bias"] for i in range(3)])
    got = dag.apply({"params": {"kernel": kernel, "bias": bias}}, x)
    np.testing.assert_allclose(got, mlp.apply({"params": mlp_params}, x), rtol=1e-6, atol=1e-6)


def _oracle(kernel, bias, x, group):
    """Neuron by neuron, reading only neurons of earlier groups."""
    allowed, _ = structure(N_IN, HIDDEN, group)
    z = np.concatenate([np.asarray(x, np.float64), np.zeros((x.shape[0], sum(HIDDEN)))], 1)
    for n in range(sum(HIDDEN)):
        pre = bias[n] + sum(z[:, m] * kernel[m, n] for m in range(N_IN + n) if allowed[m, n])
        z[:, N_IN + n] = np.tanh(pre)
    return z


@pytest.mark.parametrize("group", [1, 2, 4])
def test_full_dag_matches_neuron_by_neuron_loop(group):
    x = _x()
    dag = DagTower(HIDDEN, "tanh", group=group, preset="full")
    params = dag.init(jax.random.key(2), x)["params"]
    params = {"kernel": params["kernel"], "bias": params["bias"] + 0.1}
    got = dag.apply({"params": params}, x, method=DagTower.neurons)
    want = _oracle(np.asarray(params["kernel"]), np.asarray(params["bias"]), x, group)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("group", [1, 4])
def test_neuron_never_depends_on_a_later_neuron(group):
    """d z_i / d W[:, m] = 0 for every hidden neuron m > i (and m in i's group), != 0 before."""
    x = _x()
    dag = DagTower(HIDDEN, "tanh", group=group, preset="full")
    params = dag.init(jax.random.key(2), x)["params"]

    def hidden_neurons(p):
        return jnp.sum(dag.apply({"params": p}, x, method=DagTower.neurons)[:, N_IN:], axis=0)

    jac_HxNxH = np.abs(np.asarray(jax.jacrev(hidden_neurons)(params)["kernel"])).sum(1)
    for i in range(sum(HIDDEN)):
        for m in range(sum(HIDDEN)):
            same_group = m // group == i // group
            if m > i or (same_group and m != i):
                assert jac_HxNxH[i, m] == 0.0, (i, m)
            else:
                assert jac_HxNxH[i, m] > 0.0, (i, m)


def test_stack_builds_a_dag_and_sows_l1():
    x = jax.random.normal(jax.random.key(0), (3, 4))
    stack = resnets.ResidualStack(partial(MLP, 4), resnets.get("dag", l1=0.5), 3)
    variables = stack.init(jax.random.key(0), x)
    assert variables["params"]["dag"]["kernel"].shape == (4 + 12, 12)
    assert "losses" in variables  # init sows too: apply from params only, or penalties add up
    y, state = stack.apply({"params": variables["params"]}, x, mutable=["losses"])
    assert y.shape == (3, 4)
    kernel = variables["params"]["dag"]["kernel"]
    np.testing.assert_allclose(resnets.penalty(state["losses"]), 0.5 * np.abs(kernel).sum(), 1e-5)


def test_bad_group_and_block_raise():
    with pytest.raises(ValueError, match="must divide"):
        DagTower((4, 6), group=4).init(jax.random.key(0), _x())
    with pytest.raises(ValueError, match="batch_norm"):
        resnets.ResidualStack(partial(MLP, 4, batch_norm=True), resnets.get("dag"), 2).init(
            jax.random.key(0), _x()
        )
    with pytest.raises(TypeError, match="whole MLP tower"):
        resnets.get("dag")(name="c")([_x()], _x())


def test_dropout_in_training_only():
    x = _x()
    dag = DagTower(HIDDEN, "tanh", dropout=0.5)
    variables = dag.init(jax.random.key(0), x)
    eval_y = dag.apply(variables, x)
    train_y = dag.apply(variables, x, train=True, rngs={"dropout": jax.random.key(1)})
    assert np.all(np.isfinite(train_y)) and not np.allclose(eval_y, train_y)
