"""Blocks against brute-force forms of their formulas, and the sequence wrappers at init."""

import jax
import jax.numpy as jnp
import numpy as np

import resnets
from resnets.blocks import (
    GRU,
    LSTM,
    MLP,
    MLR,
    Dice,
    Polynomial,
    Product,
    SequenceResidual,
    TransformerBlock,
)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_dice_matches_loops_in_training_and_eval():
    s = np.asarray(jax.random.normal(jax.random.key(0), (6, 3)) * 2.0 + 1.0)
    dice = Dice()
    variables = dice.init(jax.random.key(0), s)
    alpha = np.array([0.3, -0.2, 0.5], np.float32)
    params = {"alpha": alpha}
    got, state = dice.apply({**variables, "params": params}, s, train=True, mutable=["batch_stats"])
    want = np.zeros_like(s)
    for c in range(3):
        mean = sum(s[b, c] for b in range(6)) / 6
        var = sum((s[b, c] - mean) ** 2 for b in range(6)) / 6
        for b in range(6):
            p = _sigmoid((s[b, c] - mean) / np.sqrt(var + 1e-8))
            want[b, c] = p * s[b, c] + (1 - p) * alpha[c] * s[b, c]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # Eval uses the running averages: after one update they are 0.99·(0, 1) + 0.01·batch.
    stats = state["batch_stats"]["norm"]
    np.testing.assert_allclose(stats["mean"], 0.01 * s.mean(0), rtol=1e-4, atol=1e-6)
    evaluated = dice.apply({"params": params, "batch_stats": state["batch_stats"]}, s)
    p = _sigmoid((s - stats["mean"][None]) / np.sqrt(np.asarray(stats["var"])[None] + 1e-8))
    np.testing.assert_allclose(evaluated, p * s + (1 - p) * alpha[None] * s, rtol=1e-4, atol=1e-5)


def test_mlp_learned_activations():
    x = jax.random.normal(jax.random.key(0), (4, 3))
    for act in ("prelu", "dice"):
        variables = MLP(5, act).init(jax.random.key(0), x)
        y, _ = MLP(5, act).apply(variables, x, train=True, mutable=["batch_stats"])
        assert y.shape == (4, 5) and np.all(np.isfinite(y))
    prelu = MLP(5, "prelu")
    params = jax.tree.map(np.asarray, prelu.init(jax.random.key(0), x)["params"])
    pre = x @ params["Dense_0"]["kernel"] + params["Dense_0"]["bias"][None]
    np.testing.assert_allclose(
        prelu.apply({"params": params}, x), np.where(pre > 0, pre, 0.01 * pre), rtol=1e-5, atol=1e-6
    )


def test_mlr_matches_loops():
    x = np.asarray(jax.random.normal(jax.random.key(0), (3, 4)))
    mlr = MLR(2, pieces=3)
    params = mlr.init(jax.random.key(1), x)["params"]
    params = {**params, "experts_bias": np.arange(6, dtype=np.float32).reshape(3, 2)}
    got = mlr.apply({"params": params}, x)
    u, c = np.asarray(params["router"]["kernel"]), np.asarray(params["router"]["bias"])
    w, b = np.asarray(params["experts"]), params["experts_bias"]
    for i in range(3):
        logits = x[i] @ u + c
        soft = np.exp(logits) / np.exp(logits).sum()
        want = sum(soft[m] * (x[i] @ w[m] + b[m]) for m in range(3))
        np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-5)


def test_polynomial_and_product_match_formulas():
    x = np.asarray(jax.random.normal(jax.random.key(0), (3, 4)))
    poly = Polynomial(2)
    params = jax.tree.map(np.asarray, poly.init(jax.random.key(1), x)["params"])
    a = np.abs(x)
    feats = np.concatenate([x, x**2, np.sqrt(a + 1e-6) - np.sqrt(1e-6), np.log1p(a)], 1)
    want = feats @ params["Dense_0"]["kernel"] + params["Dense_0"]["bias"]
    np.testing.assert_allclose(poly.apply({"params": params}, x), want, rtol=1e-5, atol=1e-5)
    grad = jax.grad(lambda z: poly.apply({"params": params}, z).sum())(jnp.zeros((1, 4)))
    assert np.all(np.isfinite(grad)), "√|x| must have a finite gradient at 0"

    c = np.asarray(jax.random.normal(jax.random.key(2), (3, 5)))
    outer = Product(2, mode="outer")
    params = jax.tree.map(np.asarray, outer.init(jax.random.key(1), x, context=c)["params"])
    kernel = np.asarray(params["Dense_0"]["kernel"]).reshape(4, 5, 2)
    want = np.einsum("bi,bj,ijo->bo", x, c, kernel) + params["Dense_0"]["bias"]
    got = outer.apply({"params": params}, x, context=c)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    had = Product(2)
    params = jax.tree.map(np.asarray, had.init(jax.random.key(1), x)["params"])
    ctx = np.asarray(params["context"]) + 0.5
    got = had.apply({"params": {**params, "context": ctx}}, x)
    want = (x * ctx[None]) @ params["Dense_0"]["kernel"] + params["Dense_0"]["bias"]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_sequence_blocks_start_as_identity_and_respect_shapes():
    x = jax.random.normal(jax.random.key(0), (2, 3, 6))
    for block in [GRU(4), LSTM(3, bidirectional=True)]:
        layer = SequenceResidual(block, resnets.get("identity"))
        y, variables = layer.init_with_output(jax.random.key(0), x)
        np.testing.assert_array_equal(y, x)
        width = 2 * block.hidden if block.bidirectional else block.hidden
        assert variables["params"]["delta"]["kernel"].shape == (width, 6)
        assert jax.jit(block.apply)({"params": variables["params"]["block"]}, x).shape == (
            2,
            3,
            width,
        )
    tb = TransformerBlock(num_heads=2)
    np.testing.assert_allclose(tb.init_with_output(jax.random.key(0), x)[0], x, atol=1e-6)
    moved = TransformerBlock(num_heads=2, zero_init_output=False)
    assert not np.allclose(moved.init_with_output(jax.random.key(0), x)[0], x)


def test_transformer_uses_its_connection_family():
    x = jax.random.normal(jax.random.key(0), (2, 5, 6))
    block = TransformerBlock(connection=resnets.get("concat"), zero_init_output=False)
    y, variables = block.init_with_output(jax.random.key(0), x)
    assert y.shape == x.shape, "concat runs projected inside the block"
    assert set(variables["params"]) >= {"conn_attention", "conn_ffn"}
    shared = TransformerBlock(connection=resnets.get("scaled", shared=True))
    assert "conn" in shared.init(jax.random.key(0), x)["params"]
