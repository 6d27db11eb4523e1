"""Which model x connection-family pairs cannot work, and why: the one compatibility table.

Fixed-width slots run `concat` as concat(project=True), so most pairs work; a pair listed here
raises a ValueError naming the pair and the reason.
"""

from __future__ import annotations

_DAG_SEQ = "dag rewires whole MLP towers; recurrent/attention slots need a per-slot connection"

# (model, family) -> reason. Models append their own rows here (one line each, sorted by model).
INCOMPATIBLE: dict[tuple[str, str], str] = {
    ("bilstm", "dag"): _DAG_SEQ,
    ("bst", "dag"): _DAG_SEQ,
    ("dien", "dag"): _DAG_SEQ,
    ("din", "dag"): _DAG_SEQ,
    ("dsin", "dag"): _DAG_SEQ,
    ("gru4rec", "dag"): _DAG_SEQ,
    ("lstm", "dag"): _DAG_SEQ,
    ("transformer_enc", "dag"): _DAG_SEQ,
    # feature-interaction models (issue 6): no MLP tower for dag to rewire, or no slot at all
    ("afm", "dag"): "AFM has no MLP tower for dag to rewire (it would train the none model)",
    ("autoint", "dag"): "AutoInt has no MLP tower for dag to rewire (use autoint_plus)",
    ("deep_crossing", "dag"): "Deep Crossing's residual units are not an MLP tower dag can rewire",
    ("ffm", "dag"): "FFM has no MLP tower for dag to rewire (it would train the none model)",
    ("fwfm", "dag"): "FwFM has no MLP tower for dag to rewire (it would train the none model)",
    **{
        ("gbdt_lr", family): "GBDT+LR has no residual slot: every family trains the none model"
        for family in ("identity", "concat", "scaled", "rezero", "gated", "dense", "dag")
    },
    **{
        ("mlr", family): "LS-PLM has no residual slot: every family trains the none model"
        for family in ("identity", "concat", "scaled", "rezero", "gated", "dense", "dag")
    },
}


def check_compatible(model: str, family: str) -> None:
    reason = INCOMPATIBLE.get((model, family))
    if reason is not None:
        raise ValueError(f"model {model!r} cannot use connection family {family!r}: {reason}")
