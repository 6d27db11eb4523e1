"""The registry loop: every model in MODELS x every connection family check_compatible allows
inits, gives finite logits of shape (B,), and agrees jitted vs eager; incompatible pairs raise.

Tiny shapes (5 categorical fields of vocab 20, one behaviour sequence sharing the item table,
embedding 4, towers (8, 8), B=8) so one case stays well under a second on a CPU.
"""

import dataclasses

import chex
import jax
import numpy as np
import pytest
from models_helpers import SPEC, D, V, small_options

import resnets
from ctr.models import INCOMPATIBLE, MODELS, check_compatible

B = 8
# dag rewires MLP towers and cannot hold BatchNorm (neurons are computed in groups).
FAMILY_OPTIONS = {"dag": {"batch_norm": False}}
# dense merges states of different widths (tower input vs hidden) only when it projects.
CONNECTION_OPTIONS = {"dense": {"project": True}}
PAIRS = [
    (m, f)
    for m in sorted(MODELS)
    for f in sorted(resnets.CONNECTIONS)
    if (m, f) not in INCOMPATIBLE
]


def _batch() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    batch = {f.name: rng.integers(0, V, size=B, dtype=np.int32) for f in SPEC.categorical}
    batch["hist"] = rng.integers(0, V, size=(B, 3), dtype=np.int32)
    batch["label"] = rng.integers(0, 2, size=B).astype(np.float32)
    batch["mask"] = np.ones(B, np.float32)
    return batch


def _model(name: str, family: str):
    cls = MODELS[name]
    options = small_options(cls, **FAMILY_OPTIONS.get(family, {}))
    return cls(
        spec=SPEC,
        connection=resnets.get(family, **CONNECTION_OPTIONS.get(family, {})),
        embedding_dim=D,
        **options,
    )


# Eager execution compiles op by op, so jitted == eager is checked on a covering subset: every
# model with `identity`, and every family on deepfm. That subset is the fast suite; the other
# pairs are marked slow (CI runs them in its second pass, `pytest -m slow`).
EAGER_PAIRS = {(m, "identity") for m in MODELS} | {("deepfm", f) for f in resnets.CONNECTIONS}


@pytest.mark.parametrize(
    "name,family",
    [p if p in EAGER_PAIRS else pytest.param(*p, marks=pytest.mark.slow) for p in PAIRS],
)
def test_model_family_pair(name, family):
    model, batch = _model(name, family), _batch()

    def init_and_apply(b):  # one compiled program per pair: init, eval and train mode
        variables = model.init(jax.random.key(0), b, train=False)
        variables = {k: v for k, v in variables.items() if k != "losses"}
        logits = model.apply(variables, b, train=False)
        train_logits, _ = model.apply(
            variables,
            b,
            train=True,
            rngs={"dropout": jax.random.key(1)},
            mutable=["batch_stats", "losses"],
        )
        return variables, logits, train_logits

    variables, jitted, train_logits = jax.jit(init_and_apply)(batch)
    for logits in (jitted, train_logits):
        chex.assert_shape(logits, (B,))
        chex.assert_tree_all_finite(logits)
    if (name, family) in EAGER_PAIRS:
        eager = model.apply(variables, batch, train=False)
        np.testing.assert_allclose(jitted, eager, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pair", sorted(INCOMPATIBLE))
def test_incompatible_pairs_raise(pair):
    with pytest.raises(ValueError, match=pair[0]):
        check_compatible(*pair)


# Models with a wide+deep `combine` slot (ctr.layers.slots.COMBINE): a typo must not fall back
# to the published sum.
COMBINE_MODELS = sorted(
    m for m, cls in MODELS.items() if "combine" in {f.name for f in dataclasses.fields(cls)}
)


@pytest.mark.parametrize("name", COMBINE_MODELS)
def test_combine_typo_raises(name):
    cls = MODELS[name]
    model = cls(
        spec=SPEC, connection=resnets.get("scaled"), embedding_dim=D, **small_options(cls),
        combine="Sum",
    )  # fmt: skip
    expected = rf"{cls.__name__}: combine='Sum'; choose from \('connection', 'sum'\)"
    with pytest.raises(ValueError, match=expected):
        model.init(jax.random.key(0), _batch())
