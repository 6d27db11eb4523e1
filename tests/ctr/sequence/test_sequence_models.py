"""Behaviour-sequence models on a tiny spec (user, target item, history sharing the item table):
shared history embeddings; every model x {none, identity} inits, gives finite logits (B,), and is
the same jitted and eager; DIEN/DIN sow their extra losses; the candidate tower trains."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import resnets
from ctr.features import FeatureSpec, Field
from ctr.layers.mba import mba_regularizer
from ctr.layers.sequence import BehaviourEmbedding
from ctr.models import MODELS
from ctr.models.youtube_dnn import (
    YouTubeCandidate,
    candidate_metrics,
    target_ids,
    youtube_candidate_loss,
)

L = 6
SPEC = FeatureSpec(
    fields=(
        Field(name="user", kind="categorical", vocab_size=6),
        Field(name="item", kind="categorical", vocab_size=12, group="item"),
        Field(
            name="hist",
            kind="sequence",
            vocab_size=12,
            group="item",
            max_len=L,
            length_field="hist_len",
        ),
        Field(name="hist_len", kind="numeric"),
    ),
    user_field="user",
)


def make_batch(lengths=(0, 1, 3, 6, 4), seed=0):
    rng = np.random.default_rng(seed)
    b = len(lengths)
    hist = np.zeros((b, L), np.int32)
    for i, n in enumerate(lengths):
        hist[i, :n] = rng.integers(2, 12, n)
    return {
        "user": jnp.asarray(rng.integers(0, 6, b), jnp.int32),
        "item": jnp.asarray(rng.integers(2, 12, b), jnp.int32),
        "hist": jnp.asarray(hist),
        "hist_len": jnp.asarray(lengths, jnp.float32),
        "label": jnp.asarray(rng.integers(0, 2, b), jnp.float32),
        "mask": jnp.ones(b, jnp.float32),
    }


@pytest.fixture
def batch():
    return make_batch()


@pytest.fixture
def spec():
    return SPEC


SEQUENCE_MODELS = (
    "din",
    "dien",
    "dsin",
    "bst",
    "gru4rec",
    "lstm",
    "bilstm",
    "transformer_enc",
    "youtube_dnn",
)
SMALL = {"din": {"attention_hidden": (8,)}, "dsin": {"attention_hidden": (8,), "session_len": 4}}


def build(name, spec, family="none", **opts):
    opts = {"hidden": (8,), **SMALL.get(name, {}), **opts}
    return MODELS[name](spec=spec, connection=resnets.get(family), embedding_dim=4, **opts)


@pytest.mark.parametrize("family", ["none", "identity"])
@pytest.mark.parametrize("name", SEQUENCE_MODELS)
def test_shape_finite_jit_equals_eager(name, family, spec, batch):
    model = build(name, spec, family)
    variables = model.init(jax.random.key(0), batch, train=False)
    eager = model.apply(variables, batch, train=False)
    jitted = jax.jit(lambda v, x: model.apply(v, x, train=False))(variables, batch)
    chex.assert_shape(eager, (5,))
    chex.assert_tree_all_finite(eager)
    np.testing.assert_allclose(eager, jitted, rtol=1e-5, atol=1e-6)


def test_dien_sows_the_auxiliary_loss_in_training(spec, batch):
    model = build("dien", spec, "identity", aux_coef=0.5)
    v = model.init(jax.random.key(0), batch)
    _, state = model.apply(
        v, batch, train=True, rngs={"sample": jax.random.key(1)}, mutable=["losses", "batch_stats"]
    )
    (aux,) = state["losses"]["aux_loss"]
    # embeddings start ~1e-4, so every inner product is ~0 and each pair costs 2 log 2
    np.testing.assert_allclose(aux, 0.5 * 2 * np.log(2.0), rtol=1e-4)
    _, state = model.apply(v, batch, train=False, mutable=["losses"])
    assert "losses" not in state or not state["losses"]


def test_dien_auxiliary_loss_ignores_padding_rows(spec):
    # two ragged batches that differ only in their padding rows (mask 0): same pairs, same
    # negatives, so the same loss; before the fix padding histories were pairs and negatives
    real = make_batch(lengths=(2, 3, 6), seed=1)
    pads = [make_batch(lengths=(6, 6), seed=s) for s in (2, 3)]
    batches = [
        {k: jnp.concatenate([real[k], p[k]]) for k in real}
        | {"mask": jnp.array([1.0] * 3 + [0.0] * 2)}
        for p in pads
    ]
    model = build("dien", spec, "identity")
    v = model.init(jax.random.key(0), batches[0])
    tables = v["params"]["behaviour"]["embedding"]  # embeddings large enough to tell items apart
    tables["table_item"] = jax.random.normal(jax.random.key(3), tables["table_item"].shape)
    aux = [
        model.apply(v, b, train=True, rngs={"sample": jax.random.key(1)},
                    mutable=["losses", "batch_stats"])[1]["losses"]["aux_loss"][0]
        for b in batches
    ]  # fmt: skip
    np.testing.assert_allclose(aux[0], aux[1], rtol=1e-6)


def test_din_penalty_ignores_the_ids_of_padding_rows(spec):
    real = make_batch(lengths=(2, 3, 6), seed=1)
    pads = [make_batch(lengths=(6, 6), seed=s) for s in (2, 3)]
    mask = jnp.array([1.0] * 3 + [0.0] * 2)
    model = build("din", spec, "identity", mba_l2=0.1)
    penalties = []
    for p in pads:
        b = {k: jnp.concatenate([real[k], p[k]]) for k in real} | {"mask": mask}
        v = model.init(jax.random.key(0), b)
        _, state = model.apply(v, b, train=True, mutable=["losses", "batch_stats"])
        penalties.append(state["losses"]["mba_l2"][0])
    np.testing.assert_allclose(penalties[0], penalties[1], rtol=1e-6)


def test_din_sows_the_mini_batch_aware_penalty(spec, batch):
    model = build("din", spec, "identity", mba_l2=0.1)
    v = model.init(jax.random.key(0), batch)
    counts = {"table_item": jnp.arange(12.0), "table_user": jnp.full(6, 2.0)}
    v = {"params": v["params"], "batch_stats": v["batch_stats"], "counts": counts}
    _, state = model.apply(v, batch, train=True, mutable=["losses", "batch_stats"])
    tables = v["params"]["behaviour"]["embedding"]
    expected = mba_regularizer(
        tables["table_item"],
        jnp.concatenate([batch["item"], batch["hist"].ravel()]),
        counts["table_item"],
    ) + mba_regularizer(tables["table_user"], batch["user"], counts["table_user"])
    np.testing.assert_allclose(state["losses"]["mba_l2"][0], 0.1 * expected, rtol=1e-5)


@pytest.mark.parametrize("sampler", ["log_uniform", "in_batch"])
def test_youtube_candidate_loss_trains_and_metrics_are_bounded(sampler, spec, batch):
    model = YouTubeCandidate(
        spec=spec, connection=resnets.get("identity"), embedding_dim=4, hidden=(8,)
    )
    v = model.init(jax.random.key(0), batch)
    pos = target_ids(spec, batch)
    log_q = jnp.log(jnp.full(12, 1 / 10.0))

    def loss(params):
        user, table = model.apply({"params": params}, batch)
        return youtube_candidate_loss(
            user, table, pos, jax.random.key(1), sampler=sampler, num_sampled=20, log_q_V=log_q
        )

    value, grads = jax.jit(jax.value_and_grad(loss))(v["params"])
    assert np.isfinite(value)
    assert np.abs(np.asarray(grads["behaviour"]["embedding"]["table_item"])).sum() > 0
    recall, ndcg = candidate_metrics(*model.apply(v, batch), pos, k=3)
    assert 0.0 <= float(ndcg) <= float(recall) <= 1.0


def test_behaviour_embedding_shares_the_target_table(spec, batch):
    emb = BehaviourEmbedding(spec, 4)
    v = emb.init(jax.random.key(0), batch)
    beh = emb.apply(v, batch)
    table = v["params"]["embedding"]["table_item"]
    np.testing.assert_array_equal(beh.hist_BxLxE, table[batch["hist"]])
    np.testing.assert_array_equal(beh.target_BxE, table[batch["item"]])
    np.testing.assert_array_equal(beh.mask_BxL, batch["hist"] > 0)
    chex.assert_shape(beh.context_BxC, (5, 8))  # user + hist_len


def test_specs_without_a_usable_sequence_raise(batch):
    flat = FeatureSpec(fields=(Field(name="item", kind="categorical", vocab_size=12),))
    with pytest.raises(ValueError, match="sequence field"):
        BehaviourEmbedding(flat, 4).init(jax.random.key(0), batch)
    orphan = FeatureSpec(
        fields=(
            Field(name="item", kind="categorical", vocab_size=12),
            Field(name="hist", kind="sequence", vocab_size=12, max_len=6),
        )
    )
    with pytest.raises(ValueError, match="no target"):
        BehaviourEmbedding(orphan, 4).init(jax.random.key(0), batch)
