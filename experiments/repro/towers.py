"""ReLU information loss inside trained CTR towers: per-layer dead-ReLU fraction and effective
rank of the activations (the Fig. 1 question of Sandler et al. 2018, asked of a real network).

Effective rank (Roy & Vetterli 2007, "The effective rank: a measure of effective
dimensionality"): with singular values s_k of the B x W activation matrix and p_k = s_k / sum s,
erank = exp(-sum_k p_k log p_k); it is k for k equal nonzero singular values and lies in [1, W].
"""

from __future__ import annotations

import flax
import numpy as np

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
    return {k.removesuffix("/__call__"): np.asarray(v[0]) for k, v in flat.items()}
