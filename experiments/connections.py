"""Learned connections read back from run folders: per-layer trajectories and surviving edges.

Per epoch, metrics.jsonl holds every learned connection quantity of up to 64 numbers under
"conn/<parameter path>" (resnets.connection_summary: ".../conn_3/beta", ".../conn_3/w",
".../conn_3/gate_mean", the assembled ".../adjacency" and ".../gates"); result.json's
"connection" holds all of them, of any size, for the best state.

Learned structure: `dense(gates=True, l1>0)` multiplies edge j -> k+1 by σ(G_{k+1,j}) and
penalises Σσ(G), so an edge "survives" when its gate stays above 1/2; `dag(l1>0)` penalises
Σ|W|, so a neuron-to-neuron edge survives when |W_{m,n}| stays above a threshold (masked-out
entries never move from 0).
"""

from __future__ import annotations

import re

import numpy as np

from experiments.rundir import RunDir

_LAYER = re.compile(r"(?:(.*)/)?conn_(\d+)/(.+)")


def history(run_dir) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(epochs_E, {parameter path: array (E, ...)}) of the per-epoch connection quantities."""
    rows = RunDir(run_dir).read_metrics()
    rows = [r for r in rows if "train_loss" in r]  # a diverged epoch has no values
    keys = sorted({k for r in rows for k in r if k.startswith("conn/")})
    out = {k.removeprefix("conn/"): np.asarray([r[k] for r in rows if k in r]) for k in keys}
    return np.asarray([r["epoch"] for r in rows]), out


def per_layer(series: dict[str, np.ndarray]) -> dict[str, dict[int, np.ndarray]]:
    """{quantity ("beta", "w", "gate_mean", "adjacency" rows, ...): {layer: (E,) channel mean}},
    from `history`'s per-layer entries (".../conn_<i>/<quantity>")."""
    out: dict[str, dict[int, np.ndarray]] = {}
    for key, values_Ex in series.items():
        m = _LAYER.fullmatch(key)
        if m is None:
            continue
        quantity = f"{m[1]}/{m[3]}" if m[1] and m[1] != "tower" else m[3]
        flat = values_Ex.reshape(len(values_Ex), -1)
        out.setdefault(quantity, {})[int(m[2])] = flat.mean(axis=1)
    return {q: dict(sorted(v.items())) for q, v in out.items()}


def surviving_edges(connection: dict, *, gate: float = 0.5, threshold: float = 1e-3) -> dict:
    """{"<prefix>/gates" or "<prefix>/dag/kernel": list of surviving edges} from a connection
    dict (result.json's "connection", "conn/" keys, or connection_summary's output).

    dense gates: {"target": k+1, "source": j, "gate": σ(G), "weight": A (channel mean)} for every
    causal edge j <= k+1 of the (L+1, L+1) matrix with gate > `gate` (source k+1 is f(x)).
    dag kernel: {"source": m, "target": n, "weight": W} for |W| > `threshold`; neuron indices
    count inputs first, then hidden neurons (target n is hidden neuron n).
    """
    conn = {k.removeprefix("conn/"): np.asarray(v) for k, v in connection.items()}
    out = {}
    for key, value in conn.items():
        if key == "gates" or key.endswith("/gates"):
            adjacency = conn.get(key.removesuffix("gates") + "adjacency")
            gates_2d = value.reshape(value.shape[0], value.shape[1], -1).mean(axis=2)
            weights = None if adjacency is None else adjacency.reshape(gates_2d.shape + (-1,))
            edges = []
            for t, s in zip(*np.nonzero(gates_2d > gate), strict=True):
                if s <= t and t > 0:  # causal entries only (row 0 is the input: no edges)
                    w = None if weights is None else float(weights[t, s].mean())
                    edges.append(dict(target=int(t), source=int(s), gate=float(gates_2d[t, s]),
                                      weight=w))  # fmt: skip
            out[key] = edges
        elif key.endswith("dag/kernel"):
            src, tgt = np.nonzero(np.abs(value) > threshold)
            out[key] = [
                dict(source=int(m), target=int(n), weight=float(value[m, n]))
                for m, n in zip(src, tgt, strict=True)
            ]
    return out
