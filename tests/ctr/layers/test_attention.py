"""AutoInt self-attention vs a naive per-head softmax loop; AFM attentional pooling vs a loop."""

import jax
import numpy as np
import pytest

import resnets
from ctr.layers.attention import AttentionalPooling, SelfAttention, SelfAttentionStack

B, F, D = 2, 4, 3


def _emb(seed):
    return np.random.default_rng(seed).normal(size=(B, F, D)).astype(np.float32)


def _softmax(z):
    z = np.exp(z - z.max())
    return z / z.sum()


def _attention(p, x, heads, scale):
    wq, wk, wv = (np.asarray(p[k]["kernel"]) for k in ("query", "key", "value"))
    d = wq.shape[1] // heads
    out = np.zeros((B, F, wq.shape[1]))
    for n in range(B):
        for h in range(heads):
            sl = slice(h * d, (h + 1) * d)
            q, k, v = x[n] @ wq[:, sl], x[n] @ wk[:, sl], x[n] @ wv[:, sl]
            for i in range(F):
                a = _softmax(np.array([q[i] @ k[j] for j in range(F)]) / scale)
                out[n, i, sl] = sum(a[j] * v[j] for j in range(F))
    return out


@pytest.mark.parametrize("use_scale", [False, True])
def test_self_attention_matches_loop(use_scale):
    x = _emb(0)
    layer = SelfAttention(8, num_heads=2, use_scale=use_scale)
    params = layer.init(jax.random.key(0), x)["params"]
    want = _attention(params, x, 2, np.sqrt(4.0) if use_scale else 1.0)
    np.testing.assert_allclose(layer.apply({"params": params}, x), want, rtol=1e-5, atol=1e-5)


def test_stack_default_is_relu_attention_plus_w_res():
    x = _emb(1)
    stack = SelfAttentionStack(2, 8, resnets.get("none"), num_heads=2)
    params = stack.init(jax.random.key(1), x)["params"]
    h1 = _attention(params["attn_0"], x, 2, 1.0)
    h1 = np.maximum(h1 + x @ np.asarray(params["conn_0"]["projection"]["kernel"]), 0)
    h2 = np.maximum(_attention(params["attn_1"], h1, 2, 1.0) + h1, 0)
    got = stack.apply({"params": params}, x)
    np.testing.assert_allclose(got, h2, rtol=1e-5, atol=1e-5)


def _layer_norm(h, p, eps=1e-5):
    mu, var = h.mean(-1, keepdims=True), h.var(-1, keepdims=True)
    return (h - mu) / np.sqrt(var + eps) * np.asarray(p["scale"]) + np.asarray(p["bias"])


def test_stack_layer_norm_sits_after_the_merge_before_the_relu():
    x = _emb(2)
    stack = SelfAttentionStack(2, 8, resnets.get("none"), num_heads=2, layer_norm=True)
    params = stack.init(jax.random.key(2), x)["params"]
    params = jax.tree.map(lambda a: a + 0.1, params)  # LN scale/bias off their 1/0 init
    h1 = _attention(params["attn_0"], x, 2, 1.0)
    h1 = h1 + x @ np.asarray(params["conn_0"]["projection"]["kernel"])
    h1 = np.maximum(_layer_norm(h1, params["norm_0"]), 0)
    h2 = _attention(params["attn_1"], h1, 2, 1.0) + h1
    h2 = np.maximum(_layer_norm(h2, params["norm_1"]), 0)
    got = stack.apply({"params": params}, x)
    np.testing.assert_allclose(got, h2, rtol=1e-4, atol=1e-5)


def test_afm_pooling_matches_loop():
    x = _emb(2)
    layer = AttentionalPooling(5)
    p = layer.init(jax.random.key(2), x)["params"]
    w, b = np.asarray(p["attention"]["kernel"]), np.asarray(p["attention"]["bias"])
    h, proj = np.asarray(p["score"]["kernel"])[:, 0], np.asarray(p["projection"]["kernel"])[:, 0]
    want = np.zeros(B)
    for n in range(B):
        pairs = [x[n, i] * x[n, j] for i in range(F) for j in range(i + 1, F)]
        a = _softmax(np.array([h @ np.maximum(e @ w + b, 0) for e in pairs]))
        want[n] = proj @ sum(ai * e for ai, e in zip(a, pairs, strict=True))
    np.testing.assert_allclose(layer.apply({"params": p}, x), want, rtol=1e-5, atol=1e-6)
