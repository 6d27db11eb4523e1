"""Every model that embeds fields reads a multihot field (a bag of ids per row): other bags,
same everything else, give other logits (ctr/layers/embedding.py pools the bag into one field)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from models_helpers import SPEC, D, V, small_options

import resnets
from ctr.features import Field
from ctr.models import MODELS

SPEC_WITH_BAG = dataclasses.replace(
    SPEC, fields=(*SPEC.fields, Field(name="tags", kind="multihot", vocab_size=V, max_len=4))
)
# neuralcf reads only the user and item fields (by design); gbdt_lr reads leaves of trees
# fitted on categorical and numeric columns
READERS = sorted(set(MODELS) - {"neuralcf", "gbdt_lr"})
FAST = ("lr", "ffm", "deepfm", "din")


@pytest.mark.parametrize(
    "name", [n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in READERS]
)
def test_every_field_model_reads_the_bag(name):
    cls = MODELS[name]
    model = cls(spec=SPEC_WITH_BAG, connection=resnets.get("identity"), embedding_dim=D,
                **small_options(cls))  # fmt: skip
    rng = np.random.default_rng(0)
    batch = {f.name: rng.integers(0, V, size=8, dtype=np.int32) for f in SPEC.categorical}
    batch["hist"] = rng.integers(0, V, size=(8, 3), dtype=np.int32)
    batch["tags"] = rng.integers(0, V, size=(8, 4), dtype=np.int32)
    variables = model.init(jax.random.PRNGKey(0), batch, train=False)

    def logits(tags):
        out = model.apply(variables, {**batch, "tags": tags}, train=False)
        return out if not isinstance(out, tuple) else out[0]

    out = logits(batch["tags"])
    assert out.shape == (8,) and jnp.isfinite(out).all()
    other = (batch["tags"] + 1) % V  # other bags, same everything else: other logits
    assert not np.allclose(logits(other), out)
