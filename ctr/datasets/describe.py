"""What a prepared data set holds: rows and positive rate per split, vocabulary size and OOV
rate per field (valid/test ids that fell outside the train vocabulary), Bayes-optimal metrics
of synthetic data."""

from __future__ import annotations

import numpy as np

from ctr.features import OOV_ID, PAD_ID, FeatureSpec


def oov_rate(ids: np.ndarray) -> float:
    """Fraction of real (non-padding) ids that are OOV."""
    real = ids != PAD_ID
    return float((ids[real] == OOV_ID).mean()) if real.any() else 0.0


def stats(spec: FeatureSpec, splits: dict, info: dict) -> dict:
    out = {
        "splits": {
            s: {"rows": len(d["label"]), "positive_rate": float(d["label"].mean())}
            for s, d in splits.items()
        },
        "fields": {},
    }
    for f in spec.fields:
        entry = {"kind": f.kind, "vocab_size": f.vocab_size}
        if f.kind != "numeric":
            entry |= {f"oov_{s}": oov_rate(d[f.name]) for s, d in splits.items() if s != "train"}
        out["fields"][f.name] = entry
    if "bayes_optimal" in info:
        out["bayes_optimal"] = info["bayes_optimal"]
    return out


def format_stats(name: str, st: dict) -> str:
    lines = [f"data set {name}", f"{'split':<8}{'rows':>12}{'positive rate':>16}"]
    for s, d in st["splits"].items():
        lines.append(f"{s:<8}{d['rows']:>12,}{d['positive_rate']:>16.4f}")
    others = [s for s in st["splits"] if s != "train"]
    lines.append(
        f"{'field':<18}{'kind':<13}{'vocab':>9}" + "".join(f"{'oov ' + s:>12}" for s in others)
    )
    for name_, f in st["fields"].items():
        oov = "".join(
            f"{f[f'oov_{s}']:>12.4f}" if f"oov_{s}" in f else f"{'-':>12}" for s in others
        )
        vocab = f["vocab_size"] if f["kind"] != "numeric" else "-"
        lines.append(f"{name_:<18}{f['kind']:<13}{vocab:>9}{oov}")
    if "bayes_optimal" in st:
        lines.append("Bayes-optimal (true probabilities against the labels)")
        for s in st["splits"]:
            m = st["bayes_optimal"][s]
            lines.append(f"{s:<8}auc {m['auc']:.4f}  logloss {m['logloss']:.4f}")
    return "\n".join(lines)
