"""ReLU information loss inside trained CTR towers: per-layer dead-ReLU fraction and effective
rank of the activations (the Fig. 1 question of Sandler et al. 2018, asked of a real network).

Effective rank (Roy & Vetterli 2007, "The effective rank: a measure of effective
dimensionality"): with singular values s_k of the B x W activation matrix and p_k = s_k / sum s,
erank = exp(-sum_k p_k log p_k); it is k for k equal nonzero singular values and lies in [1, W].
"""

from __future__ import annotations

import json
import pathlib
from typing import Any, NamedTuple

import flax
import flax.linen as nn
import jax
import numpy as np

import resnets
from ctr.features import FeatureSpec
from experiments import protocol, train
from experiments.configs import RunConfig
from experiments.rundir import RunDir
from resnets.blocks import MLP


def effective_rank(a_BxW: np.ndarray, *, center: bool = True) -> float:
    """exp(entropy of the L1-normalised singular values); 0 for an all-zero matrix.

    center=True removes the per-unit mean first: the mean activation (large after a ReLU) is the
    same for every input, carries no information about it, and would otherwise dominate s_1.
    """
    a = np.asarray(a_BxW, dtype=np.float64)
    if center:
        a = a - a.mean(axis=0)
    s = np.linalg.svd(a, compute_uv=False)
    if s.sum() == 0.0:
        return 0.0
    p = s[s > 0] / s.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def tower_activation_stats(activations_by_layer: list[np.ndarray]) -> list[dict[str, float]]:
    """Per layer (each a B x W post-activation batch): dead_fraction (units that are <= 0 on every
    row: a dead ReLU passes no information and no gradient), zero_fraction (entries <= 0), and
    effective_rank with its ratio to the width."""
    stats = []
    for layer, a_BxW in enumerate(activations_by_layer):
        a_BxW = np.asarray(a_BxW)
        if a_BxW.ndim != 2:
            raise ValueError(f"layer {layer}: expected a (batch, width) matrix, got {a_BxW.shape}")
        erank = effective_rank(a_BxW)
        stats.append(
            dict(
                layer=layer,
                width=a_BxW.shape[1],
                dead_fraction=float((a_BxW <= 0).all(axis=0).mean()),
                zero_fraction=float((a_BxW <= 0).mean()),
                effective_rank=erank,
                effective_rank_ratio=erank / a_BxW.shape[1],
            )
        )
    return stats


def block_activations(model, variables, batch) -> dict[str, np.ndarray]:
    """Post-activation output of every MLP block f (the residual branch), keyed by module path
    ("tower/block_0", ...) in call order, in eval mode (BatchNorm running averages, no dropout):
    the input `tower_activation_stats` expects."""
    _, state = model.apply(
        variables,
        batch,
        train=False,
        capture_intermediates=lambda module, _: isinstance(module, MLP),
        mutable=["intermediates"],
    )
    flat = flax.traverse_util.flatten_dict(state["intermediates"], sep="/")
    return {
        k.removesuffix("/__call__"): np.asarray(v[0])
        for k, v in flat.items()
        if k.endswith("/__call__")  # the loop also records each layer's state
    }


class LoadedRun(NamedTuple):
    model: nn.Module
    variables: dict[str, Any]
    spec: FeatureSpec
    splits: dict
    cfg: RunConfig


def load_run(run_dir, *, which: str = "best", data=None, data_dir=None, manual_dir=None):
    """(model, variables, spec, splits, cfg) of a run folder, rebuilt with the runner's own code.

    which="best" is the best-valid state the protocol keeps in every checkpoint (what result.json
    reports); "state" is the state after the last trained epoch. `data` = (spec, splits) reuses
    data already loaded; otherwise the run's data set is loaded (from the prepared cache).
    """
    if which not in ("best", "state"):
        raise ValueError(f"which must be 'best' or 'state', got {which!r}")
    rd = RunDir(pathlib.Path(run_dir))
    if not rd.config.exists():
        raise FileNotFoundError(f"{rd.root} has no config.json: not a run folder")
    cfg = RunConfig.from_json(json.loads(rd.config.read_text()))
    if data is None:
        import ctr.datasets  # only needed when the caller passes no data

        d = cfg.data
        data = ctr.datasets.load(d.name, data_dir=data_dir, manual_dir=manual_dir, **d.options)
    spec, splits = data
    model = train.build_model(cfg, spec)
    cols = protocol.model_columns(spec)
    sample = {c: np.asarray(splits["train"][c][:2]) for c in cols}
    tx = train.make_optimizer(cfg.train)
    shape = jax.eval_shape(lambda: train.init_state(model, tx, jax.random.PRNGKey(0), sample))
    try:
        restored = rd.restore_latest({"state": shape, "best": shape})
    finally:
        rd.close()
    if restored is None:
        raise FileNotFoundError(f"{rd.root} has no checkpoint that restores (no epoch finished?)")
    state = restored[0][which]
    variables = {"params": state.params}
    if state.batch_stats:
        variables["batch_stats"] = state.batch_stats
    return LoadedRun(model, variables, spec, splits, cfg)


def state_activations(model, variables, batch) -> dict[str, np.ndarray]:
    """The tower states h_1..h_L (what each layer leaves in the residual stream, as the loop
    records it: resnets.stream `current`), keyed "tower/conn_i", eval mode."""
    _, state = model.apply(variables, batch, train=False, mutable=["intermediates"])
    flat = flax.traverse_util.flatten_dict(state["intermediates"], sep="/")
    # a shared connection ("conn") is one module called once per layer: one entry per call
    return {
        k.removesuffix("/state") + (f"@{i}" if len(v) > 1 else ""): np.asarray(a)
        for k, v in flat.items()
        if k.endswith("/state")
        for i, a in enumerate(v)
    }


def run_layer_stats(run_dir, *, rows: int = 2048, split: str = "valid", **load) -> list[dict]:
    """Per tower layer of a trained run (best state): the dead-ReLU fraction (of the block output
    f, or of the state when the activation follows the merge) and the effective rank of the
    block output f and of the state h = connection(hist, f), plus the run's family and depth.
    For `none` with the activation in the block the two coincide; dag towers have no per-layer
    blocks."""
    run = load_run(run_dir, **load)
    if resnets.CONNECTIONS[run.cfg.connection.name].fused:
        raise ValueError(
            f"{run.cfg.connection.name} rewires the tower as one graph: it has no per-layer blocks"
        )
    batch = {c: np.asarray(v[:rows]) for c, v in run.splits[split].items()}
    blocks = block_activations(run.model, run.variables, batch)
    states = state_activations(run.model, run.variables, batch)
    block_stats = tower_activation_stats(list(blocks.values()))
    state_stats = tower_activation_stats(list(states.values())) if states else block_stats
    # the ReLU's output: the block's, or the state's when the ReLU follows the merge (ResNet v1)
    after_merge = run.cfg.model.options.get("activation_after_merge", False)
    out = []
    for b, s in zip(block_stats, state_stats, strict=True):
        relu = s if after_merge else b
        out.append(dict(family=run.cfg.connection.name, depth=len(block_stats), layer=b["layer"],
                        width=b["width"], dead_fraction=relu["dead_fraction"],
                        zero_fraction=relu["zero_fraction"],
                        block_effective_rank=b["effective_rank"],
                        state_effective_rank=s["effective_rank"],
                        state_effective_rank_ratio=s["effective_rank_ratio"]))  # fmt: skip
    return out
