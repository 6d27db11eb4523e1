"""Sweeps: functions returning list[RunConfig], each docstring states the hypothesis it tests.

`SWEEPS` is the literal registry `resctr run --sweep NAME` reads. Family options that a sweep
needs (dense(project=True) where the tower input and hidden widths differ, dag's neuron group
size) are set here, in one place per sweep, so every result names its exact settings.
"""

from __future__ import annotations

import resnets
from experiments.configs import ConnectionConfig, DataConfig, ModelConfig, RunConfig, TrainConfig

BARS_SEEDS = (2021, 190034, 992817)  # the first three of BARS's five DeepFM/Frappe_x1 seeds


def family_options(family: str, *, widths_differ: bool, dag_group: int) -> dict:
    """The options a family needs in an MLP tower (other families run with their defaults)."""
    return {
        "dense": {"project": True} if widths_differ else {},
        "dag": {"group": dag_group},
        "scaled": {"w": "scalar"},  # learn both beta and w, so the merge weights are visible
    }.get(family, {})


def grid(models, families, seeds, *, data, train, model_options, embedding_dim, widths_differ,
         dag_group, sweep) -> list[RunConfig]:  # fmt: skip
    return [
        RunConfig(
            data=data,
            model=ModelConfig(
                name=m, options=dict(model_options.get(m, {})), embedding_dim=embedding_dim
            ),  # fmt: skip
            connection=ConnectionConfig(
                name=f, options=family_options(f, widths_differ=widths_differ, dag_group=dag_group)
            ),
            train=train,
            seed=s,
            sweep=sweep,
        )
        for m in models
        for f in families
        for s in seeds
    ]


def smoke() -> list[RunConfig]:
    """Plumbing check in seconds: every stage of the runner works end to end (no hypothesis)."""
    data = DataConfig(name="synthetic", options={"rows": 2000, "num_fields": 4, "vocab": 10})
    train = TrainConfig(batch_size=256, max_epochs=2, lr=3e-3)
    kw = dict(data=data, train=train, embedding_dim=4, widths_differ=False, dag_group=4)
    tower = {"dnn": {"hidden": [16, 16]}}
    return grid(["lr", "fm"], ["none"], [0], model_options={}, **kw, sweep="smoke") + grid(
        ["dnn"], ["none", "identity"], [0], model_options=tower, **kw, sweep="smoke"
    )


def demo() -> list[RunConfig]:
    """On planted-interaction data every family should train a small tower close to the
    Bayes-optimal AUC, and DNN/DeepFM should beat LR (no interactions) and FM (pairs only)."""
    data = DataConfig(name="synthetic", options={"rows": 20000})
    train = TrainConfig(batch_size=512, max_epochs=8, lr=3e-3)
    tower = {"hidden": [64, 64, 64]}  # = 8 fields x 8 dims: every family runs unprojected
    kw = dict(data=data, train=train, embedding_dim=8, widths_differ=False, dag_group=16)
    seeds = [0, 1]
    return grid(["lr", "fm"], ["none"], seeds, model_options={}, **kw, sweep="demo") + grid(
        ["dnn", "deepfm"],
        list(resnets.CONNECTIONS),
        seeds,
        model_options={"dnn": tower, "deepfm": tower},
        **kw,
        sweep="demo",
    )


BARS_TRAIN = TrainConfig(lr=1e-3, batch_size=4096, max_epochs=100, patience=2, embedding_l2=0.05)
BARS_TOWER = {"hidden": [400, 400, 400], "dropout": 0.2, "batch_norm": True}  # DNN/DeepFM Frappe


def families_frappe() -> list[RunConfig]:
    """Under the BARS protocol on Frappe_x1, does any residual family beat the plain published
    DNN/DeepFM towers (valid AUC ~0.984), or are 3-layer CTR towers too shallow to benefit?"""
    families = [f for f in resnets.CONNECTIONS if f != "dag"]  # dag: no BatchNorm (see dag.py)
    return grid(
        ["dnn", "deepfm"],
        families,
        BARS_SEEDS,
        data=DataConfig(name="frappe"),
        train=BARS_TRAIN,
        model_options={"dnn": BARS_TOWER, "deepfm": BARS_TOWER},
        embedding_dim=10,
        widths_differ=True,
        dag_group=40,
        sweep="families_frappe",
    )


def depth_frappe() -> list[RunConfig]:
    """Degradation (He et al. 2016, Fig. 1) in a CTR tower: a plain DNN gets worse with depth
    (1 -> 32 layers of 400), identity/scaled/dense shortcuts keep deep towers trainable."""
    runs = []
    for depth in (1, 2, 4, 8, 16, 32):
        tower = {"hidden": [400] * depth, "dropout": 0.2, "batch_norm": True}
        runs += grid(
            ["dnn"],
            ["none", "identity", "scaled", "dense"],
            BARS_SEEDS,
            data=DataConfig(name="frappe"),
            train=BARS_TRAIN,
            model_options={"dnn": tower},
            embedding_dim=10,
            widths_differ=True,
            dag_group=40,
            sweep="depth_frappe",
        )
    return runs


SWEEPS = {
    "smoke": smoke,
    "demo": demo,
    "families_frappe": families_frappe,
    "depth_frappe": depth_frappe,
}
