"""Tiny shapes shared by the model-level tests: 5 categorical fields of vocab 20, one behaviour
sequence sharing the item table, embedding 4, and options that make every model small."""

import dataclasses

from ctr.features import FeatureSpec, Field

V, D = 20, 4
SPEC = FeatureSpec(
    fields=(
        Field(name="user", kind="categorical", vocab_size=V),
        Field(name="item", kind="categorical", vocab_size=V, group="item"),
        Field(name="f2", kind="categorical", vocab_size=V),
        Field(name="f3", kind="categorical", vocab_size=V),
        Field(name="f4", kind="categorical", vocab_size=V),
        Field(name="hist", kind="sequence", vocab_size=V, group="item", max_len=3),
    ),
    user_field="user",
)
# Options that make models small, applied to every model that declares them.
SMALL = {
    "hidden": (8, 8),
    "attention_hidden": (8,),
    "mlp_hidden": (8, 8),
    "mlp1_hidden": (8,),
    "mlp2_hidden": (4,),
    "fs_hidden": (4,),
    "cin_units": (4, 4),
    "num_cross_layers": 2,
    "attention_layers": 2,
    "attention_dim": 8,
    "num_heads": 2,
    "residual_units": (8, 8),
    "num_pieces": 3,
}


def small_options(cls, **overrides) -> dict:
    """SMALL (then `overrides`) restricted to the options model class `cls` declares."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in {**SMALL, **overrides}.items() if k in names}
