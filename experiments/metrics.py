"""Exact whole-split metrics on the host (numpy): AUC, logloss, gAUC.

AUC = (sum of positive ranks - P(P+1)/2) / (P N)   (Mann-Whitney U; tied scores get their
average rank, so AUC counts a tie as 1/2, like sklearn's roc_auc_score).
logloss = mean BCE computed from logits (stable: softplus form, no clipping of probabilities).
gAUC = sum_u n_u AUC_u / sum_u n_u over users with both classes (impression-weighted).
"""

from __future__ import annotations

import numpy as np


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    labels = np.asarray(labels) > 0.5
    pos = int(labels.sum())
    neg = labels.size - pos
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = average_ranks(np.asarray(scores, np.float64))
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing their average rank; NaN anywhere gives all NaN
    (scipy.stats.rankdata's defaults, in numpy: importing scipy.stats adds ~1 s to the start
    of every run)."""
    if np.isnan(x).any():
        return np.full(x.shape, np.nan)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    first = np.r_[True, xs[1:] != xs[:-1]]  # where a run of equal values starts
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], x.size]
    ranks = np.empty(x.size)
    ranks[order] = ((starts + ends + 1) / 2.0)[np.cumsum(first) - 1]
    return ranks


def logloss(labels: np.ndarray, logits: np.ndarray) -> float:
    z = np.asarray(logits, np.float64)
    y = np.asarray(labels, np.float64)
    # -[y log s(z) + (1-y) log(1-s(z))] = softplus(z) - y z
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def gauc(labels: np.ndarray, scores: np.ndarray, users: np.ndarray) -> float:
    order = np.argsort(users, kind="stable")
    users, labels, scores = users[order], np.asarray(labels)[order], np.asarray(scores)[order]
    bounds = np.flatnonzero(np.diff(users)) + 1
    total = weight = 0.0
    for lab, sc in zip(np.split(labels, bounds), np.split(scores, bounds), strict=True):
        a = auc(lab, sc)
        if not np.isnan(a):
            total += lab.size * a
            weight += lab.size
    return total / weight if weight else float("nan")


def evaluate(labels: np.ndarray, logits: np.ndarray, users: np.ndarray | None = None) -> dict:
    out = {"auc": auc(labels, logits), "logloss": logloss(labels, logits)}
    if users is not None:
        out["gauc"] = gauc(labels, logits, users)
    return out
