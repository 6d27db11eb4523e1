"""Result tables from run folders: model x family, mean +- std over seeds, paired test vs baseline.

The baseline is `identity` (the ResNet shortcut) when the sweep has it, else `none`; a sweep
that asks whether any family beats the published architecture names `none` in
experiments.sweeps.BASELINES (a sweep file: BASELINE), and `baseline=` overrides both. In a
sweep over normalization (`norm_frappe`) it is the unnormalized tower of the same family. A
baseline that names a model (`din` for seq_amazon) compares models instead: every row is paired
with that model on the same data set and family. The difference to the baseline is paired by
seed (same seed = same data order and init draw) and tested with a paired t-test over seeds
(scipy.stats.ttest_rel).

Rows split by data set (`data`: the raw file's stem, else the data set's name) when a sweep
runs several, and by `variant` (the model options that are not columns of their own) when a
sweep runs one model with several option sets (dien_amazon's DIEN variants).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pandas as pd
from scipy import stats

MIN_TESTED_DIFF = 1e-5
OWN_COLUMNS = ("hidden", "depth", "norm", "norm_position", "head")  # options shown apart


def variant(options: dict) -> str:
    """The model options that have no column of their own, as `key=value` (sorted)."""
    return ",".join(f"{k}={v}" for k, v in sorted(options.items()) if k not in OWN_COLUMNS)


def load_results(workdir: str | pathlib.Path) -> pd.DataFrame:
    rows = []
    for path in sorted(pathlib.Path(workdir).glob("**/result.json")):
        r = json.loads(path.read_text())
        cfg = r["config"]
        options = cfg["model"]["options"]
        hidden = options.get("hidden")
        # a model run with several heads (gbdt_lr's lr/fm) gets one row per head
        model = cfg["model"]["name"] + (f":{options['head']}" if "head" in options else "")
        data = cfg.get("data", {})
        row = {
            "run_id": r["run_id"],
            "sweep": cfg.get("sweep", ""),
            "path": str(path.parent),
            "data": pathlib.Path(data.get("options", {}).get("file") or data.get("name", "")).stem,
            "model": model,
            "variant": variant(options),
            "family": cfg["connection"]["name"],
            # sequence encoders stack `depth` blocks; towers are as deep as their hidden list
            "depth": options.get("depth", len(hidden) if hidden is not None else 0),
            "norm": cfg["model"]["options"].get("norm", "none"),
            "norm_position": cfg["model"]["options"].get("norm_position", "pre"),
            "seed": cfg["seed"],
            "status": r["status"],
            "best_epoch": r["best_epoch"],
            "train_s": r["train_s"],
            "device": r.get("device"),
        }
        for split in ("valid", "test"):
            for k, v in (r.get(split) or {}).items():
                row[f"{split}_{k}"] = v
        rows.append(row)
    if not rows:
        raise FileNotFoundError(f"no result.json under {workdir}: run a sweep there first")
    return pd.DataFrame(rows)


def single_sweep(df: pd.DataFrame) -> str | None:
    """The sweep every run of `df` belongs to, None when they come from several."""
    sweeps = set(df["sweep"])
    return next(iter(sweeps)) if len(sweeps) == 1 else None


def summarize(
    df: pd.DataFrame, metric: str | None = None, baseline: str | None = None
) -> tuple[pd.DataFrame, str]:
    """(one row per model x family [x data, depth, variant], the metric used: test AUC when every
    run has it). `baseline`: the family (in a normalization sweep, the norm; or a model) each row
    is paired with."""
    from experiments.sweeps import BASELINES

    if metric is None:
        metric = "test_auc" if "test_auc" in df and df["test_auc"].notna().all() else "valid_auc"
    named = BASELINES.get(single_sweep(df))
    if (baseline or named) in set(df["model"]):  # models compared with each other
        along, baseline = "model", baseline or named
        # a model's depth and options make it that model: columns only where one model varies
        axes = ["data"] if df["data"].nunique() > 1 else []
        axes += [k for k in ("depth", "variant") if df.groupby("model")[k].nunique().max() > 1]
        paired_on = ["family", "data"]
    else:
        axes = [k for k in ("data", "depth", "norm", "norm_position") if df[k].nunique() > 1]
        # a variant is a model's own option set: a column only where one model has several
        if df.groupby("model")["variant"].nunique().max() > 1:
            axes.append("variant")
        # the axis a row is compared along: normalization when the sweep varies it, else family
        along = "norm" if "norm" in axes else "family"
        paired_on = [k for k in ("model", "family", *axes) if k not in (along, "norm_position")]
        if baseline is None:
            default = "identity" if "identity" in set(df["family"]) else "none"
            baseline = "none" if along == "norm" else named or default
    keys = ["model", "family", *axes]
    if baseline not in set(df[along]):
        raise ValueError(f"baseline {baseline!r} is not a {along} of these runs; choose from "
                         f"{sorted(set(df[along]))}")  # fmt: skip
    out = []
    for key, g in df.groupby(keys, sort=True):
        vals = g[metric].to_numpy(float)
        vals = vals[np.isfinite(vals)]  # diverged runs have no metric; they are counted apart
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row |= {
            "n": len(vals),
            "mean": vals.mean() if len(vals) else np.nan,
            "std": vals.std(ddof=1) if len(vals) > 1 else np.nan,
        }
        row["diverged"] = int((g["status"] == "diverged").sum())
        same = [df[k] == g[k].iloc[0] for k in paired_on]
        base = df[(df[along] == baseline) & np.logical_and.reduce(same)]
        paired = g.merge(base, on="seed", suffixes=("", "_base"))
        diff = paired[metric] - paired[f"{metric}_base"]
        row[f"diff_vs_{baseline}"] = diff.mean() if len(diff) else np.nan
        # differences below the table's 4 decimals (e.g. a model without the slot a family
        # rewires, differing only by GPU reduction order) get no test: its p would be noise
        ok = len(diff) > 1 and row[along] != baseline and np.abs(diff).max() > MIN_TESTED_DIFF
        row["p_value"] = (
            stats.ttest_rel(paired[metric], paired[f"{metric}_base"]).pvalue if ok else np.nan
        )
        out.append(row)
    return pd.DataFrame(out), metric


def add_reference(table: pd.DataFrame, name: str) -> tuple[pd.DataFrame, str]:
    """Adds the published test AUC of experiments.reference.REFERENCES[name] and our mean minus
    it; returns the table and the reference's title (the data-split label)."""
    from experiments.reference import REFERENCES

    if name not in REFERENCES:
        raise ValueError(f"unknown reference {name!r}; choose from {sorted(REFERENCES)}")
    title, numbers = REFERENCES[name]
    table = table.copy()
    table["ref_auc"] = [numbers.get(m, (np.nan,))[0] for m in table["model"]]
    table["ref_diff"] = table["mean"] - table["ref_auc"]
    return table, title


def table_cells(table: pd.DataFrame, metric: str) -> tuple[list[str], list[list[str]]]:
    """(column titles, rows of formatted cells): the one formatting of a summary table, shared
    by the Markdown of `resctr table` and the HTML of `resctr report`."""
    diff_col = next(c for c in table.columns if c.startswith("diff_vs_"))
    keys = [
        c
        for c in ("data", "model", "variant", "family", "depth", "norm", "norm_position")
        if c in table
    ]
    head = keys + [f"{metric} (mean ± std)", "n", diff_col, "p (paired t)", "diverged"]
    ref = "ref_auc" in table
    if ref:
        head += ["published test AUC", "ours − published"]
    rows = []
    for _, r in table.iterrows():
        std = "" if np.isnan(r["std"]) else f" ± {r['std']:.4f}"
        diff = "" if np.isnan(r[diff_col]) else f"{r[diff_col]:+.4f}"
        p = "" if np.isnan(r["p_value"]) else f"{r['p_value']:.3g}"
        cells = [str(r[k]) for k in keys] + [
            f"{r['mean']:.4f}{std}",
            str(r["n"]),
            diff,
            p,
            str(r["diverged"]),
        ]
        if ref:
            cells += [
                "" if np.isnan(r["ref_auc"]) else f"{r['ref_auc']:.4f}",
                "" if np.isnan(r["ref_diff"]) else f"{r['ref_diff']:+.4f}",
            ]
        rows.append(cells)
    return head, rows


def to_markdown(table: pd.DataFrame, metric: str) -> str:
    head, rows = table_cells(table, metric)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in rows])


def summary(
    workdir: str | pathlib.Path,
    reference: str | None = None,
    metric: str | None = None,
    baseline: str | None = None,
) -> tuple[pd.DataFrame, str, str]:
    """(summary table, metric, title) of the sweep in `workdir`. Defaults come from the sweep
    (its sweep.json, or the built-in sweep of that name): its baseline, and its published
    reference (experiments.reference), which adds the published AUC per model and titles the
    table with the reference's data-split label."""
    from experiments.sweep_files import describe

    df = load_results(workdir)
    sweep = describe(workdir, single_sweep(df))
    table, metric = summarize(df, metric, baseline or sweep["baseline"])
    title = ""
    reference = reference if reference is not None else sweep["reference"]
    if reference:
        table, title = add_reference(table, reference)
    return table, metric, title


def write_table(
    workdir: str | pathlib.Path,
    reference: str | None = None,
    metric: str | None = None,
    baseline: str | None = None,
) -> tuple[str, pathlib.Path]:
    """Markdown table of the sweep in `workdir` (see `summary`); also writes workdir/table.csv."""
    workdir = pathlib.Path(workdir)
    table, metric, title = summary(workdir, reference, metric, baseline)
    csv = workdir / "table.csv"
    table.to_csv(csv, index=False)
    text = to_markdown(table, metric)
    return (f"**{title}**\n\n{text}" if title else text), csv
