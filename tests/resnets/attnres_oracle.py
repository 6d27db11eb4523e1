"""Brute-force numpy forms of depth attention (resnets.attnres) for the attnres and deres tests:
explicit loops over sources, float64, written from the equations, not from the code."""

import numpy as np

EPS = 1e-6  # the key RMSNorm's eps


def block(params, k: int, h: np.ndarray) -> np.ndarray:
    """The tanh MLP block k of resnets_helpers.mlp_stack: tanh(h W + b)."""
    dense = params[f"block_{k}"]["Dense_0"]
    return np.tanh(h @ np.asarray(dense["kernel"], np.float64) + np.asarray(dense["bias"]))


def attend(conn, sources: list[np.ndarray], pointwise: bool) -> np.ndarray:
    """Σ_i α_i s_i, α from w · RMSNorm(s_i) (softmax over i, or SiLU(· + b)), row by row."""
    w = np.asarray(conn["query"], np.float64)
    scale = np.asarray(conn["key_scale"], np.float64)
    out = np.zeros_like(sources[0])
    for row in np.ndindex(sources[0].shape[:-1]):
        logits = []
        for s in sources:
            v = s[row]
            logits.append(float(w @ (v / np.sqrt(np.mean(v * v) + EPS) * scale)))
        z = np.array(logits)
        if pointwise:
            z = z + float(conn["logit_bias"])
            alpha = z / (1.0 + np.exp(-z))
        else:
            alpha = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        out[row] = sum(a * s[row] for a, s in zip(alpha, sources, strict=True))
    return out
