"""DIEN's options for the DIEN-vs-DIN study: AGRU and AIGRU against their equations and known
reductions, item-set negatives (uniform over the item ids, never the positive), GRU width."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_sequence_models import SPEC, build, make_batch

from ctr.features import OOV_ID
from ctr.layers.augru import AUGRU
from ctr.models.dien import item_set_negatives

sigmoid = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731


def inputs(b=2, n=4, i_dim=3):
    x = jax.random.normal(jax.random.key(1), (b, n, i_dim))
    a = jax.random.uniform(jax.random.key(2), (b, n)).at[1, 2:].set(0.0)
    return x, a


def test_agru_matches_its_equation_attention_replaces_the_update_gate():
    x, a = inputs()
    model = AUGRU(5, "agru")
    v = model.init(jax.random.key(3), x, a)
    assert set(v["params"]["cell"]) == {"w_r", "u_r", "w_h", "u_h"}  # no update gate
    out = np.asarray(model.apply(v, x, a))
    p = jax.tree.map(np.asarray, v["params"]["cell"])
    xs, an = np.asarray(x), np.asarray(a)
    h = np.zeros((2, 5))
    for t in range(4):
        r = sigmoid(xs[:, t] @ p["w_r"]["kernel"] + p["w_r"]["bias"] + h @ p["u_r"]["kernel"])
        pre = xs[:, t] @ p["w_h"]["kernel"] + p["w_h"]["bias"] + r * (h @ p["u_h"]["kernel"])
        h = (1 - an[:, t : t + 1]) * h + an[:, t : t + 1] * np.tanh(pre)
        np.testing.assert_allclose(out[:, t], h, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out[1, 2:], np.broadcast_to(out[1, 1], (2, 5)))  # a = 0 holds


def test_aigru_is_a_gru_over_attention_scaled_inputs():
    # AUGRU with a = 1 is the plain GRU, so AIGRU(x, a) == AUGRU(a·x, 1) with the same weights
    x, a = inputs()
    aigru, augru = AUGRU(5, "aigru"), AUGRU(5, "augru")
    v = aigru.init(jax.random.key(3), x, a)
    got = aigru.apply(v, x, a)
    want = augru.apply(v, a[..., None] * x, jnp.ones_like(a))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_unknown_gru_type_is_named():
    x, a = inputs()
    with pytest.raises(ValueError, match="gru_type='lstm'; choose from"):
        AUGRU(5, "lstm").init(jax.random.key(0), x, a)


def test_item_set_negatives_are_uniform_over_the_items_and_never_the_positive():
    vocab = 7  # ids 2..6 are items
    pos = jnp.tile(jnp.arange(2, vocab, dtype=jnp.int32), 4000)
    neg = np.asarray(item_set_negatives(jax.random.key(0), pos, vocab))
    assert not (neg == np.asarray(pos)).any()
    assert neg.min() == OOV_ID + 1 and neg.max() == vocab - 1
    for p in range(2, vocab):  # given the positive, the other 4 items are equally likely
        _, counts = np.unique(neg[np.asarray(pos) == p], return_counts=True)
        assert len(counts) == 4
        np.testing.assert_allclose(counts / counts.sum(), 0.25, atol=0.03)


def test_item_set_negatives_need_two_items():
    with pytest.raises(ValueError, match="need >= 2 real items"):
        item_set_negatives(jax.random.key(0), jnp.array([2]), 3)


@pytest.mark.parametrize(
    "opts",
    [
        {"aux_negatives": "items"},
        {"gru_type": "agru"},
        {"gru_type": "aigru"},
        {"gru_hidden": 7},
    ],
)
def test_dien_options_train_with_finite_aux_loss(opts):
    batch = make_batch()
    model = build("dien", SPEC, "identity", **opts)
    v = model.init(jax.random.key(0), batch)
    logits, state = model.apply(
        v, batch, train=True, rngs={"sample": jax.random.key(1)}, mutable=["losses", "batch_stats"]
    )
    chex.assert_shape(logits, (5,))
    chex.assert_tree_all_finite((logits, state["losses"]))
    if "gru_hidden" in opts:  # both GRUs are 7 wide, projected back to the embedding width 4
        assert v["params"]["augru"]["cell"]["u_h"]["kernel"].shape == (7, 7)
        assert v["params"]["out_evolve"]["kernel"].shape == (7, 4)


def test_unknown_negatives_are_named():
    with pytest.raises(ValueError, match="aux_negatives='popular'; choose from"):
        build("dien", SPEC, aux_negatives="popular").init(jax.random.key(0), make_batch())
