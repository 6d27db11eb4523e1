"""Padding rows of a ragged batch (mask 0) leave every BatchNorm / Dice statistic untouched.

Oracle: for every model with a `batch_norm` option (set True, plus the stack-level norm="bn"
where offered) or a Dice activation, one training apply on [n real rows; n padding rows of
different random data] gives the same batch_stats and the same real-row logits as the apply on
the n real rows alone. Dropout is 0: its per-row noise depends on the batch size. Without a
"mask" key every row counts, so a batch of real rows gives the same result as mask = 1.
"""

import dataclasses

import jax
import numpy as np
import pytest
from models_helpers import SPEC, D, V, small_options

import resnets
from ctr.layers.embedding import TABLE_PREFIX
from ctr.models import MODELS

N = 4


def _fields(cls) -> dict:
    return {f.name: f for f in dataclasses.fields(cls)}


def _uses_batch_stats(cls) -> bool:
    fields = _fields(cls)
    acts = [fields[k].default for k in ("activation", "attention_activation") if k in fields]
    return "batch_norm" in fields or "dice" in acts


BN_MODELS = [name for name, cls in MODELS.items() if _uses_batch_stats(cls)]
# A registry variant that only changes defaults (opnn, autoint_plus, lstm...) shares the first
# registered model's __call__, so it runs in the slow pass only.
_FIRST = {}
CASES = [
    name
    if _FIRST.setdefault(MODELS[name].__call__, name) == name
    else pytest.param(name, marks=pytest.mark.slow)
    for name in BN_MODELS
]


def _model(name: str):
    fields = _fields(MODELS[name])
    options = small_options(MODELS[name], attention_layers=1, batch_norm=True, norm="bn")
    for k, f in fields.items():
        if k.endswith("dropout"):
            options[k] = tuple(0.0 for _ in f.default) if isinstance(f.default, tuple) else 0.0
    return MODELS[name](spec=SPEC, connection=resnets.get("identity"), embedding_dim=D, **options)


def _rows(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = {f.name: rng.integers(2, V, size=N, dtype=np.int32) for f in SPEC.categorical}
    rows["hist"] = rng.integers(0, V, size=(N, 3), dtype=np.int32)  # 0 = PAD positions too
    rows["label"] = rng.integers(0, 2, size=N).astype(np.float32)
    return rows


def _unit_scale_tables(variables, key):
    """N(0, 1) embedding tables: at the N(0, 1e-4) init the attention unit's Dice statistics
    barely move, and a missing mask would hide under the tolerance."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(variables)
    return treedef.unflatten(
        jax.random.normal(jax.random.fold_in(key, i), x.shape)
        if TABLE_PREFIX in jax.tree_util.keystr(path)
        else x
        for i, (path, x) in enumerate(leaves)
    )


def test_the_oracle_covers_the_batch_stats_models():
    assert {"dnn", "deepfm", "dcnv2", "deep_crossing", "din", "dien", "dsin"} <= set(BN_MODELS)
    assert {"lr", "fm"}.isdisjoint(BN_MODELS)


@pytest.mark.parametrize("name", CASES)
def test_padding_rows_leave_batch_stats_and_real_logits_unchanged(name):
    model = _model(name)
    real, pad = _rows(0), _rows(1)
    ragged = {k: np.concatenate([real[k], pad[k]]) for k in real}
    ragged["mask"] = np.repeat(np.float32([1, 0]), N)
    masked_real = real | {"mask": np.ones(N, np.float32)}

    def train_apply(variables, batch):
        return model.apply(
            variables,
            batch,
            train=True,
            rngs={"dropout": jax.random.key(1)},
            mutable=["batch_stats", "losses"],
        )

    @jax.jit
    def run(ragged, masked_real, real):
        variables = model.init(jax.random.key(0), ragged, train=False)
        variables = {k: v for k, v in variables.items() if k != "losses"}
        variables = _unit_scale_tables(variables, jax.random.key(2))
        return [train_apply(variables, b) for b in (ragged, masked_real, real)]

    (ragged_logits, ragged_vars), *others = run(ragged, masked_real, real)
    assert jax.tree.leaves(ragged_vars["batch_stats"]), "the model has no batch statistics"
    # Logits pass through several more ops than the stats; shapes 2n vs n fuse differently.
    for logits, variables in others:  # real rows with mask 1, then without a "mask" key
        np.testing.assert_allclose(ragged_logits[:N], logits, rtol=1e-4, atol=1e-5)
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
            ragged_vars["batch_stats"],
            variables["batch_stats"],
        )
