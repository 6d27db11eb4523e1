"""Runner models (lr, fm, dnn, deepfm): shapes, finiteness, jit == eager, FM/LR vs brute force."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import resnets
from ctr.features import FeatureSpec, Field
from ctr.layers.fm import fm_interaction_bruteforce
from ctr.models import MODELS

SPEC = FeatureSpec(
    fields=(
        Field(name="a", kind="categorical", vocab_size=7),
        Field(name="b", kind="categorical", vocab_size=5),
        Field(name="c", kind="categorical", vocab_size=9),
    )
)
RUNNER = ("lr", "fm", "dnn", "deepfm")
SMALL = {"dnn": {"hidden": (12, 12)}, "deepfm": {"hidden": (12, 12)}}  # = F*D: dense fits


def batch(n=6, seed=0):
    rng = np.random.default_rng(seed)
    out = {f.name: jnp.asarray(rng.integers(0, f.vocab_size, n), jnp.int32) for f in SPEC.fields}
    out["label"] = jnp.asarray(rng.integers(0, 2, n), jnp.float32)
    return out


def build(name, family="none", **opts):
    return MODELS[name](spec=SPEC, connection=resnets.get(family), embedding_dim=4, **opts)


@pytest.mark.parametrize("family", sorted(resnets.CONNECTIONS))
@pytest.mark.parametrize("name", RUNNER)
def test_shape_finite_jit_equals_eager(name, family):
    model = build(name, family, **SMALL.get(name, {}))
    b = batch()
    variables = model.init(jax.random.key(0), b, train=False)
    eager = model.apply(variables, b, train=False)
    jitted = jax.jit(lambda v, x: model.apply(v, x, train=False))(variables, b)
    chex.assert_shape(eager, (6,))
    chex.assert_tree_all_finite(eager)
    np.testing.assert_allclose(eager, jitted, rtol=1e-5, atol=1e-6)


def test_fm_matches_bruteforce():
    model = build("fm")
    b = batch()
    v = model.init(jax.random.key(1), b)
    # larger embeddings so the pairwise term is not ~1e-8
    v = jax.tree.map(lambda p: p * 1e3 if p.ndim == 2 else p + 0.3, v)
    p = v["params"]
    emb = jnp.stack([p["embedding"][f"table_{f.name}"][b[f.name]] for f in SPEC.fields], 1)
    lin = sum(p["linear"]["weights"][f"table_{f.name}"][b[f.name], 0] for f in SPEC.fields)
    expected = lin + p["linear"]["bias"] + fm_interaction_bruteforce(emb)
    np.testing.assert_allclose(model.apply(v, b), expected, rtol=1e-5)


@pytest.mark.parametrize("combine", ["connection", "sum"])
@pytest.mark.parametrize("family", ["none", "identity"])
def test_deepfm_is_linear_plus_fm_plus_dnn(family, combine):
    """The published DeepFM: FM on the shared embeddings + the DNN tower on the same ones."""
    b = batch()
    deepfm = build("deepfm", family, hidden=(8,), combine=combine)
    v = deepfm.init(jax.random.key(2), b)
    fm = build("fm").apply({"params": {k: v["params"][k] for k in ("embedding", "linear")}}, b)
    dnn_v = {"params": {k: v["params"][k] for k in ("embedding", "tower")}}
    dnn = build("dnn", family, hidden=(8,)).apply(dnn_v, b)
    np.testing.assert_allclose(deepfm.apply(v, b), fm + dnn, rtol=1e-5, atol=1e-6)


def test_deepfm_combine_slot_takes_the_family():
    b = batch()
    m = build("deepfm", "scaled", hidden=(8,))
    v = m.init(jax.random.key(3), b)
    assert "combine" in v["params"]
    pinned = build("deepfm", "scaled", hidden=(8,), combine="sum")
    assert "combine" not in pinned.init(jax.random.key(3), b)["params"]
    with pytest.raises(ValueError, match="combine"):
        build("deepfm", combine="mean").init(jax.random.key(0), b)
