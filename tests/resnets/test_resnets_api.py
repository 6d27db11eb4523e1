"""Registry errors, widths, sharing, the L1 penalty, the connection summary and the CLI listing."""

from functools import partial

import jax
import numpy as np
import pytest
from resnets_helpers import DEPTH, WIDTH, mlp_stack

import resnets
from experiments.cli import build_parser
from experiments.cli_families import describe
from resnets.blocks import MLP


def test_unknown_family_and_option():
    with pytest.raises(KeyError, match="choose from.*dense"):
        resnets.get("highway2")
    with pytest.raises(TypeError, match="'gamma'"):
        resnets.get("scaled", gamma=1.0)
    with pytest.raises(TypeError, match="'beta'"):
        resnets.get("identity").replace(beta=1.0)
    with pytest.raises(ValueError, match="max_depth"):
        resnets.get("dense", shared=True)


def test_concat_grows_and_project_keeps_width(x_BxD):
    y = mlp_stack("concat").init_with_output(jax.random.key(0), x_BxD)[0]
    assert y.shape == (x_BxD.shape[0], WIDTH * (DEPTH + 1))
    np.testing.assert_array_equal(y[:, -WIDTH:], x_BxD)  # h_0 is carried to the end untouched
    y = mlp_stack("concat", project=True).init_with_output(jax.random.key(0), x_BxD)[0]
    assert y.shape == x_BxD.shape
    fixed = resnets.slot_factory(resnets.get("concat"), fixed_width=True)
    assert fixed.options["project"] and fixed.family == "concat"
    assert resnets.slot_factory(resnets.get("scaled"), fixed_width=True) == resnets.get("scaled")


def test_widths_differ_projection_or_clear_error():
    x = np.ones((2, 5), np.float32)
    for family in ("identity", "scaled", "rezero", "gated"):
        assert mlp_stack(family).init_with_output(jax.random.key(0), x)[0].shape == (2, WIDTH)
    with pytest.raises(ValueError, match="equal widths"):
        mlp_stack("dense").init(jax.random.key(0), x)
    y = mlp_stack("dense", project=True).init_with_output(jax.random.key(0), x)[0]
    assert y.shape == (2, WIDTH)


def _count(tree) -> int:
    return sum(int(np.size(leaf)) for leaf in jax.tree.leaves(tree))


@pytest.mark.parametrize(
    ("family", "opts", "per_layer", "shared_total"),
    [
        ("scaled", {"beta": "channel"}, WIDTH, WIDTH),
        ("rezero", {}, 1, 1),
        ("gated", {}, WIDTH * WIDTH + WIDTH, WIDTH * WIDTH + WIDTH),
        ("scaled", {"w": "full"}, 1 + WIDTH * WIDTH, 1 + WIDTH * WIDTH),
    ],
)
def test_factory_versus_shared_parameter_counts(x_BxD, family, opts, per_layer, shared_total):
    own = mlp_stack(family, **opts).init(jax.random.key(0), x_BxD)["params"]
    tied = mlp_stack(family, shared=True, **opts).init(jax.random.key(0), x_BxD)["params"]
    assert _count({k: v for k, v in own.items() if k.startswith("conn")}) == DEPTH * per_layer
    assert _count(tied["conn"]) == shared_total
    assert not any(k.startswith("conn_") for k in tied)


def test_dense_rows_penalty_and_summary(x_BxD):
    model = mlp_stack("dense", gates=True, gate_init=1.0, l1=0.25)
    params = model.init(jax.random.key(0), x_BxD)["params"]
    assert [params[f"conn_{k}"]["adjacency"].shape for k in range(DEPTH)] == [(2,), (3,), (4,)]
    _, state = model.apply({"params": params}, x_BxD, mutable=["losses"])
    n_edges = 2 + 3 + 4
    sig = 1.0 / (1.0 + np.exp(-1.0))
    np.testing.assert_allclose(resnets.penalty(state["losses"]), 0.25 * n_edges * sig, rtol=1e-6)
    assert resnets.penalty({}) == 0.0 and resnets.penalty(None) == 0.0

    summary = resnets.connection_summary({"tower": params})
    want = np.zeros((DEPTH + 1, DEPTH + 1))
    for k in range(DEPTH):
        want[k + 1, k : k + 2] = 1.0  # resnet preset: h_k and f(x)
    np.testing.assert_array_equal(summary["tower/adjacency"], want)
    np.testing.assert_allclose(
        summary["tower/gates"],
        sig * (np.tril(np.ones_like(want), 0) * (np.arange(DEPTH + 1)[:, None] > 0)),
        rtol=1e-6,
    )
    assert summary["tower/conn_2/adjacency"].shape == (4,)


def test_summary_names_every_learned_quantity(x_BxD):
    params = {
        "a": mlp_stack("scaled", w="lowrank").init(jax.random.key(0), x_BxD)["params"],
        "b": mlp_stack("gated", carry_bias=-1.0).init(jax.random.key(0), x_BxD)["params"],
        "c": mlp_stack("dense", shared=True, max_depth=DEPTH).init(jax.random.key(0), x_BxD)[
            "params"
        ],
        "d": resnets.ResidualStack(partial(MLP, WIDTH), resnets.get("dag"), 2).init(
            jax.random.key(0), x_BxD
        )["params"],
    }
    summary = resnets.connection_summary({"params": params})
    assert {"a/conn_0/beta", "a/conn_0/w_a", "a/conn_0/w_b", "b/conn_1/gate/bias"} <= set(summary)
    np.testing.assert_allclose(summary["b/conn_1/gate_mean"], 1 / (1 + np.e), rtol=1e-6)
    assert summary["c/adjacency"].shape == (DEPTH + 1, DEPTH + 1)
    np.testing.assert_array_equal(np.diag(summary["c/adjacency"])[1:], 1.0)
    assert summary["d/dag/kernel"].shape == (WIDTH + 2 * WIDTH, 2 * WIDTH)
    assert not any("block_" in key for key in summary)


def test_families_command_lists_every_family(capsys):
    args = build_parser().parse_args(["families"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert out.strip() == describe()
    for name in resnets.CONNECTIONS:
        assert f"\n{name} " in "\n" + out
    assert "carry_bias = -2.0" in out and "granularity = 'edge'" in out
