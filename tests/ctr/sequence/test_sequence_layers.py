"""Sequence layers vs their formulas: target attention, AUGRU, DIEN aux loss, Dice, mini-batch
aware regularization, sampled softmax, recall/NDCG, residual recurrent and causal Transformer
stacks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import resnets
from ctr.layers.augru import AUGRU
from ctr.layers.mba import mba_regularizer
from ctr.layers.sampled_softmax import (
    full_softmax_loss,
    in_batch_softmax_loss,
    log_uniform_log_q,
    log_uniform_sample,
    recall_ndcg_at_k,
    sampled_softmax_loss,
)
from ctr.layers.sequence import ResidualRecurrentStack, ResidualTransformerStack
from ctr.layers.target_attention import ActivationUnit
from ctr.layers.tower import Tower
from ctr.models.dien import auxiliary_loss
from resnets.blocks import Dice

sigmoid = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731


def test_target_attention_matches_a_masked_loop_and_padding_gets_no_gradient():
    b, n, e = 3, 5, 4
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    hist = jax.random.normal(k1, (b, n, e))
    target = jax.random.normal(k2, (b, e))
    mask = jnp.asarray([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], bool)
    unit = ActivationUnit(resnets.get("identity"), hidden=(6, 6), activation="relu")
    v = unit.init(k3, hist, target, mask)
    pooled, w = unit.apply(v, hist, target, mask)
    tower = Tower((6, 6), resnets.get("identity"), "relu")
    mlp = jax.jit(lambda x: tower.apply({"params": v["params"]["mlp"]}, x))
    h, t = np.asarray(hist), np.asarray(target)
    for i in range(b):
        acc = np.zeros(e)
        for j in range(n):
            if not mask[i, j]:
                assert w[i, j] == 0.0
                continue
            feats = np.concatenate([h[i, j], h[i, j] - t[i], h[i, j] * t[i], t[i]])[None]
            score = float(mlp(feats)[0, 0])
            np.testing.assert_allclose(w[i, j], score, rtol=1e-5, atol=1e-6)
            acc += score * h[i, j]
        np.testing.assert_allclose(pooled[i], acc, rtol=1e-5, atol=1e-6)
    grad = jax.grad(lambda x: unit.apply(v, x, target, mask)[0].sum())(hist)
    np.testing.assert_array_equal(np.asarray(grad)[~np.asarray(mask)], 0.0)
    assert np.abs(np.asarray(grad)[np.asarray(mask)]).sum() > 0


def test_augru_matches_its_equations():
    b, n, i_dim, h_dim = 2, 4, 3, 5
    x = jax.random.normal(jax.random.key(1), (b, n, i_dim))
    a = jax.random.uniform(jax.random.key(2), (b, n)).at[1, 2:].set(0.0)
    model = AUGRU(h_dim)
    v = model.init(jax.random.key(3), x, a)
    out = np.asarray(model.apply(v, x, a))
    p = jax.tree.map(np.asarray, v["params"]["cell"])
    w = lambda g, z: z @ p[f"w_{g}"]["kernel"] + p[f"w_{g}"]["bias"]  # noqa: E731
    u_ = lambda g, z: z @ p[f"u_{g}"]["kernel"]  # noqa: E731
    xs, an = np.asarray(x), np.asarray(a)
    h = np.zeros((b, h_dim))
    for t in range(n):
        u = sigmoid(w("u", xs[:, t]) + u_("u", h))
        r = sigmoid(w("r", xs[:, t]) + u_("r", h))
        h_tilde = np.tanh(w("h", xs[:, t]) + r * u_("h", h))
        u = an[:, t : t + 1] * u
        h = (1 - u) * h + u * h_tilde
        np.testing.assert_allclose(out[:, t], h, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out[1, 2:], np.broadcast_to(out[1, 1], (n - 2, h_dim)))


def test_aux_loss_matches_hand_computation():
    rng = np.random.default_rng(0)
    h, pos, neg = (rng.normal(size=(2, 3, 4)) for _ in range(3))
    mask = np.array([[1, 1, 0], [1, 0, 0]], bool)
    terms = [
        -np.log(sigmoid(h[i, t] @ pos[i, t])) - np.log(1 - sigmoid(h[i, t] @ neg[i, t]))
        for i in range(2)
        for t in range(3)
        if mask[i, t]
    ]
    got = auxiliary_loss(*(jnp.asarray(z, jnp.float32) for z in (h, pos, neg)), jnp.asarray(mask))
    np.testing.assert_allclose(got, np.mean(terms), rtol=1e-5)


def test_dice_batch_statistics_in_train_and_running_averages_in_eval():
    s = jax.random.normal(jax.random.key(4), (7, 3)) * 2 + 1
    dice = Dice(epsilon=1e-8, momentum=0.9)
    v = dice.init(jax.random.key(0), s)
    v = {"params": {"alpha": jnp.asarray([0.3, -0.2, 0.5])}, "batch_stats": v["batch_stats"]}
    out, new = dice.apply(v, s, train=True, mutable=["batch_stats"])
    sn, alpha = np.asarray(s), np.asarray(v["params"]["alpha"])
    mean, var = sn.mean(0), sn.var(0)
    p = sigmoid((sn - mean) / np.sqrt(var + 1e-8))
    np.testing.assert_allclose(out, p * sn + (1 - p) * alpha * sn, rtol=1e-4, atol=1e-5)
    stats = jax.tree.map(np.asarray, new["batch_stats"]["norm"])
    np.testing.assert_allclose(stats["mean"], 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(stats["var"], 0.9 + 0.1 * var, rtol=1e-5)
    v = {"params": v["params"], "batch_stats": new["batch_stats"]}
    p = sigmoid((sn - stats["mean"]) / np.sqrt(stats["var"] + 1e-8))
    np.testing.assert_allclose(
        dice.apply(v, s, train=False), p * sn + (1 - p) * alpha * sn, rtol=1e-4, atol=1e-5
    )


def test_mba_regularizer_touches_only_rows_in_the_batch():
    table = jax.random.normal(jax.random.key(5), (10, 3))
    ids = jnp.asarray([[0, 3, 3], [7, 2, 0]])
    freq = jnp.asarray([9, 1, 4, 2, 1, 1, 1, 5, 1, 1], jnp.float32)
    t = np.asarray(table)
    expected = sum(t[j] @ t[j] / float(freq[j]) for j in (2, 3, 7))
    np.testing.assert_allclose(mba_regularizer(table, ids, freq), expected, rtol=1e-5)
    grad = np.asarray(jax.grad(mba_regularizer)(table, ids, freq))
    untouched = [0, 1, 4, 5, 6, 8, 9]  # PAD is never penalised
    np.testing.assert_array_equal(grad[untouched], 0.0)
    for j in (2, 3, 7):
        np.testing.assert_allclose(grad[j], 2 * t[j] / float(freq[j]), rtol=1e-5)


def test_log_uniform_sampler_matches_its_distribution():
    v = 12
    q = np.exp(np.asarray(log_uniform_log_q(jnp.arange(2, v), v)))
    np.testing.assert_allclose(q.sum(), 1.0, rtol=1e-5)
    ids, log_q = log_uniform_sample(jax.random.key(6), 100_000, v)
    assert int(ids.min()) >= 2 and int(ids.max()) < v
    np.testing.assert_allclose(np.bincount(np.asarray(ids), minlength=v)[2:] / 1e5, q, atol=5e-3)
    np.testing.assert_allclose(log_q, np.log(q[np.asarray(ids) - 2]), rtol=1e-5)


def test_sampled_softmax_with_logq_approaches_the_full_softmax():
    v, d = 30, 4
    user = jax.random.normal(jax.random.key(7), (3, d))
    table = jax.random.normal(jax.random.key(8), (v, d))
    pos = jnp.asarray([2, 9, 25])
    full = full_softmax_loss(user, table, pos)

    def error(num):
        def one(key):
            neg, log_q = log_uniform_sample(key, num, v)
            return jnp.abs(sampled_softmax_loss(user, table, pos, neg, log_q) - full).mean()

        return float(jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(num), 3)).mean())

    errors = [error(num) for num in (10, 1_000, 200_000)]
    assert errors[0] > errors[1] > errors[2], errors
    assert errors[2] < 0.015, errors


def test_in_batch_softmax_matches_hand_computation():
    rng = np.random.default_rng(1)
    user, table = rng.normal(size=(4, 3)), rng.normal(size=(8, 3))
    pos, log_q = np.array([2, 5, 2, 7]), np.log(np.array([0.4, 0.1, 0.4, 0.2]))
    got = in_batch_softmax_loss(
        *(jnp.asarray(z, jnp.float32) for z in (user, table)),
        jnp.asarray(pos),
        jnp.asarray(log_q, jnp.float32),
    )
    for i in range(4):
        s_pos = user[i] @ table[pos[i]]
        negs = [
            user[i] @ table[pos[j]] - np.log(4 * np.exp(log_q[j]))
            for j in range(4)
            if pos[j] != pos[i]
        ]
        np.testing.assert_allclose(got[i], np.log(np.exp([s_pos, *negs]).sum()) - s_pos, rtol=1e-5)


def test_recall_and_ndcg_match_brute_force():
    rng = np.random.default_rng(2)
    scores = rng.normal(size=(50, 20))
    target = rng.integers(2, 20, 50)
    for k in (1, 5, 10):
        hits, gains = [], []
        for row, t in zip(scores, target, strict=True):
            ranked = sorted(range(2, 20), key=lambda j, row=row: -row[j])
            pos = ranked.index(t)
            hits.append(pos < k)
            gains.append(1 / np.log2(pos + 2) if pos < k else 0.0)
        recall, ndcg = recall_ndcg_at_k(jnp.asarray(scores), jnp.asarray(target), k)
        np.testing.assert_allclose(recall, np.mean(hits), rtol=1e-6)
        np.testing.assert_allclose(ndcg, np.mean(gains), rtol=1e-5)


@pytest.mark.parametrize("kind", ["gru", "bilstm"])
def test_residual_recurrent_stack_starts_as_identity(kind):
    x = jax.random.normal(jax.random.key(9), (2, 4, 6))
    mask = jnp.asarray([[1, 1, 1, 0], [1, 0, 0, 0]], bool)
    for family in ("identity", "none"):
        stack = ResidualRecurrentStack(kind, resnets.get(family), depth=2)
        out = jax.jit(lambda x, m, s=stack: s.apply(s.init(jax.random.key(0), x, m), x, m))(x, mask)
        if family == "identity":
            np.testing.assert_array_equal(out, x)
        else:  # the plain stack keeps a lecun-init projection, so it does not start at zero
            assert np.abs(np.asarray(out)).sum() > 0


@pytest.mark.parametrize("family", ["identity", "hyper"])
def test_causal_transformer_output_at_t_sees_only_items_up_to_t(family):
    """Brute force over t: the output at t equals the output at t of the sequence cut after t
    (PAD-padded); without the causal mask the later items change it (so the test can fail)."""
    b, n, e = 2, 5, 8
    x = jax.random.normal(jax.random.key(10), (b, n, e))
    mask = jnp.asarray([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], bool)
    out = {}
    for causal in (True, False):
        # lecun-init outputs: zero-init blocks would start as the identity and hide the mask
        stack = ResidualTransformerStack(resnets.get(family), 2, zero_init=False, causal=causal)
        v = stack.init(jax.random.key(11), x, mask)
        run = jax.jit(lambda x, m, s=stack, v=v: s.apply(v, x, m))
        full = np.asarray(run(x, mask))
        cut = [np.asarray(run(x, mask & (jnp.arange(n) <= t)[None])) for t in range(n)]
        out[causal] = [np.abs(cut[t][:, t] - full[:, t])[np.asarray(mask[:, t])] for t in range(n)]
    assert max(d.max() for d in out[True]) < 1e-5
    assert max(d.max() for d in out[False][:-1]) > 1e-2
