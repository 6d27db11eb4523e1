"""Which model x connection-family pairs cannot work, and why: the one compatibility table,
derived from the models' residual slots and the families' facts (resnets.stream), never from
family names.

A pair is incompatible when the family would silently train the published model:
  * the model has no residual slot (LR, FM, ...): only a plain family makes sense;
  * the family is fused (dag rewires whole MLP towers) and the model has no MLP tower, so
    every slot would keep its published form;
  * the family is fused and the model's towers use a learned activation by default (Dice,
    PReLU: per-layer parameters and statistics), which a neuron graph computed in groups has not;
  * the family cannot merge 1-wide states (its `min_width`, e.g. ResiDual's LayerNorm) and the
    model's only slot is the 1-wide wide + deep sum, which then keeps the published sum.
Fixed-width slots run `concat` as concat(project=True), so every other pair works.
"""

from __future__ import annotations

import dataclasses

import resnets
from resnets.blocks.mlp import LEARNED_ACTIVATIONS

# model -> its residual slots, as each model's docstring names them. "tower" is an MLP tower
# (ctr.layers.tower), "combine" the wide + deep sum (ctr.layers.slots.Combine).
RESIDUAL_SLOTS: dict[str, tuple[str, ...]] = {
    "afm": ("combine",),
    "autoint": ("attention", "combine"),
    "autoint_plus": ("attention", "tower", "combine"),
    "bilstm": ("recurrent", "tower"),
    "bst": ("transformer", "tower"),
    "dcn": ("cross", "tower"),
    "dcnv2": ("cross", "tower"),
    "deep_crossing": ("residual_units",),
    "deepfm": ("tower", "combine"),
    "dien": ("recurrent", "tower"),
    "din": ("tower",),
    "dnn": ("tower",),
    "dsin": ("transformer", "recurrent", "tower"),
    "ffm": ("combine",),
    "fibinet": ("tower", "combine"),
    "finalmlp": ("tower",),
    "fm": (),
    "fwfm": ("combine",),
    "gbdt_lr": (),
    "gru4rec": ("recurrent", "tower"),
    "ipnn": ("tower",),
    "lr": (),
    "lstm": ("recurrent", "tower"),
    "mlr": (),
    "neuralcf": ("tower",),
    "nfm": ("tower", "combine"),
    "opnn": ("tower",),
    "transformer_enc": ("transformer", "tower"),
    "wide_deep": ("tower", "combine"),
    "xdeepfm": ("cin", "tower", "combine"),
    "youtube_dnn": ("tower",),
}
ONE_WIDE_SLOTS = ("combine",)  # the wide + deep logit sum, on (B, 1) states


def incompatibility(model: str, family: str) -> str | None:
    """Why `family` cannot be used with `model`, or None when the pair works."""
    if model not in RESIDUAL_SLOTS:
        raise KeyError(f"unknown model {model!r}; choose from {sorted(RESIDUAL_SLOTS)}")
    slots, cls = RESIDUAL_SLOTS[model], resnets.CONNECTIONS[family]
    if not slots and not cls.plain:
        return "it has no residual slot: every family would train the same model as `none`"
    if cls.fused and "tower" not in slots:
        return (
            f"{family} rewires whole MLP towers and this model has none (its residual slots: "
            f"{', '.join(slots)}), so it would train the same model as `none`"
        )
    if cls.fused and (learned := _learned_activations(model)):
        return (
            f"{family} rewires MLP towers as one neuron graph with a fixed activation, and this "
            f"model's towers use a learned one by default ({', '.join(learned)})"
        )
    if cls.min_width > 1 and slots and set(slots) <= set(ONE_WIDE_SLOTS):
        return (
            f"{family} cannot merge 1-wide states and this model's only residual slot is the "
            "wide + deep sum, so it would train the same model as `none`"
        )
    return None


def _learned_activations(model: str) -> list[str]:
    """`model`'s activation options whose defaults are learned activations (DIN's Dice)."""
    from ctr.models import MODELS  # the models import this module

    return [
        f"{f.name}={f.default!r}"
        for f in dataclasses.fields(MODELS[model])
        if f.name.endswith("activation") and f.default in LEARNED_ACTIVATIONS
    ]


def incompatible_pairs() -> dict[tuple[str, str], str]:
    """{(model, family): reason} for every incompatible pair."""
    return {
        (m, f): reason
        for m in RESIDUAL_SLOTS
        for f in resnets.CONNECTIONS
        if (reason := incompatibility(m, f)) is not None
    }


def compatible(model: str, family: str) -> bool:
    return incompatibility(model, family) is None


def check_compatible(model: str, family: str) -> None:
    reason = incompatibility(model, family)
    if reason is not None:
        raise ValueError(f"model {model!r} cannot use connection family {family!r}: {reason}")
