"""Reading connections back: the L1 penalty sown into "losses" and the learned quantities.

`connection_summary` keys every learned connection quantity (the leaf names each family lists
in its `learned`) by its parameter path ("tower/conn_3/beta", "tower/conn_3/gate/bias",
"tower/dag/kernel", ...) and, for dense stacks,
assembles the per-layer adjacency rows into one matrix "<prefix>/adjacency" of shape
(L+1, L+1, ...): row k+1 holds A_{k+1,0..k} and A_{k+1,k+1} (the f(x) weight) on the diagonal;
row 0 (the input) is zero. Gate logits are reported as σ(G) under "<prefix>/gates".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

ROW_LEAVES = {"adjacency": "adjacency", "gate_logits": "gates"}


def penalty(losses: Mapping[str, Any] | None) -> jax.Array | float:
    """Sum of every value sown into the "losses" collection (0.0 when there is none)."""
    leaves = jax.tree.leaves(losses) if losses else []
    return sum(jax.numpy.sum(leaf) for leaf in leaves) if leaves else 0.0


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def connection_summary(params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Every learned connection quantity keyed by parameter path, plus assembled adjacencies."""
    if "params" in params:
        params = params["params"]
    flat = {
        "/".join(str(k.key) for k in path): np.asarray(leaf)
        for path, leaf in jax.tree_util.tree_flatten_with_path(dict(params))[0]
    }
    from resnets import CONNECTIONS  # the registry imports this module

    learned = {name for cls in CONNECTIONS.values() for name in cls.learned}
    out: dict[str, np.ndarray] = {}
    rows: dict[tuple[str, str], dict[int | None, np.ndarray]] = {}
    for key, value in flat.items():
        *parents, leaf = key.split("/")
        if leaf in learned:
            out[key] = value
        elif leaf == "bias" and parents and parents[-1] == "gate":
            out[key] = value
            out["/".join(parents[:-1] + ["gate_mean"])] = _sigmoid(value).mean()
        elif leaf == "kernel" and parents and parents[-1] == "dag":
            out[key] = value
        if leaf in ROW_LEAVES and parents:
            match = re.fullmatch(r"conn(?:_(\d+))?", parents[-1])
            if match:
                layer = None if match.group(1) is None else int(match.group(1))
                rows.setdefault(("/".join(parents[:-1]), leaf), {})[layer] = value
    for (prefix, leaf), by_layer in rows.items():
        matrix = _assemble(by_layer)
        if matrix is not None:
            name = ROW_LEAVES[leaf]
            out[f"{prefix}/{name}" if prefix else name] = (
                _sigmoid(matrix) * (matrix != 0) if leaf == "gate_logits" else matrix
            )
    return out


def _assemble(by_layer: dict[int | None, np.ndarray]) -> np.ndarray | None:
    if None in by_layer:  # shared instance: already the full (L, L+1, ...) matrix
        full = by_layer[None]
        return np.concatenate([np.zeros_like(full[:1]), full], axis=0)
    depth = len(by_layer)
    if sorted(by_layer) != list(range(depth)):
        return None
    rest = by_layer[0].shape[1:]
    matrix = np.zeros((depth + 1, depth + 1, *rest), np.float32)
    for i, row in by_layer.items():
        matrix[i + 1, : i + 2] = row
    return matrix
