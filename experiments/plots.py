"""Plots from run folders (matplotlib Agg, PNG): learning curves, AUC vs depth, learned
connection scalars over training (beta, w, gates: the "conn/..." columns of metrics.jsonl) and
adjacency heatmaps (matrices in result.json's "connection")."""

from __future__ import annotations

import json
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from experiments.tables import load_results, summarize  # noqa: E402


def _metrics(path: str) -> list[dict]:
    f = pathlib.Path(path) / "metrics.jsonl"
    return [json.loads(x) for x in f.read_text().splitlines() if x] if f.exists() else []


def learning_curves(df, out: pathlib.Path) -> pathlib.Path:
    models = sorted(df["model"].unique())
    fig, axes = plt.subplots(1, len(models), figsize=(4.5 * len(models), 3.5), squeeze=False)
    colors = {f: plt.cm.tab10(i % 10) for i, f in enumerate(sorted(df["family"].unique()))}
    for ax, model in zip(axes[0], models, strict=True):
        seen = set()
        for _, r in df[df["model"] == model].iterrows():
            rows = [m for m in _metrics(r["path"]) if "valid_auc" in m]
            label = None if r["family"] in seen else r["family"]
            seen.add(r["family"])
            ax.plot([m["epoch"] for m in rows], [m["valid_auc"] for m in rows],
                    color=colors[r["family"]], alpha=0.8, label=label)  # fmt: skip
        ax.set(title=model, xlabel="epoch", ylabel="valid AUC")
        ax.legend(fontsize=7)
    return _save(fig, out / "learning_curves.png")


def auc_vs_depth(df, out: pathlib.Path) -> pathlib.Path | None:
    df = df[df["depth"] > 0]  # models with a tower
    if df["depth"].nunique() < 2:
        return None
    table, metric = summarize(df)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for (model, family), g in table.groupby(["model", "family"]):
        g = g.sort_values("depth")
        ax.errorbar(g["depth"], g["mean"], yerr=g["std"].fillna(0), marker="o",
                    label=f"{model}/{family}", capsize=2)  # fmt: skip
    ax.set(xscale="log", xlabel="tower depth", ylabel=metric)
    ax.legend(fontsize=7)
    return _save(fig, out / "auc_vs_depth.png")


def connection_trajectories(df, out: pathlib.Path) -> list[pathlib.Path]:
    paths = []
    for (model, family), g in df.groupby(["model", "family"]):
        runs = [_metrics(p) for p in g["path"]]
        keys = sorted({k for rows in runs for m in rows for k, v in m.items()
                       if k.startswith("conn/") and np.size(v) == 1})  # fmt: skip
        if not keys:
            continue
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for i, k in enumerate(keys):
            for rows in runs:
                pts = [(m["epoch"], np.ravel(m[k])[0]) for m in rows if k in m]
                ax.plot(*zip(*pts, strict=True), color=plt.cm.tab20(i % 20), alpha=0.8,
                        label=k.removeprefix("conn/") if rows is runs[0] else None)  # fmt: skip
        ax.set(title=f"{model}/{family}: learned connection scalars", xlabel="epoch")
        ax.legend(fontsize=6)
        paths.append(_save(fig, out / f"connections_{model}_{family}.png"))
    return paths


def adjacency_heatmaps(df, out: pathlib.Path) -> list[pathlib.Path]:
    paths = []
    for _, r in df.drop_duplicates(["model", "family", "depth"]).iterrows():
        conn = json.loads((pathlib.Path(r["path"]) / "result.json").read_text())["connection"]
        mats = {k: np.asarray(v) for k, v in conn.items() if "adjacency" in k}
        mats = {k: m.reshape(m.shape[0], -1) if m.ndim > 2 else m for k, m in mats.items()}
        mats = {k: m for k, m in mats.items() if m.ndim == 2}
        if not mats:
            continue
        fig, axes = plt.subplots(1, len(mats), figsize=(4 * len(mats), 3.5), squeeze=False)
        for ax, (k, m) in zip(axes[0], mats.items(), strict=True):
            im = ax.imshow(m, cmap="RdBu_r", vmin=-np.abs(m).max(), vmax=np.abs(m).max())
            ax.set_title(k, fontsize=7)
            fig.colorbar(im, ax=ax)
        paths.append(_save(fig, out / f"adjacency_{r['model']}_{r['family']}_d{r['depth']}.png"))
    return paths


def _save(fig, path: pathlib.Path) -> pathlib.Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_all(workdir: str | pathlib.Path) -> list[pathlib.Path]:
    """Every plot the sweep in `workdir` supports, written to workdir/plots/."""
    df = load_results(workdir)
    out = pathlib.Path(workdir) / "plots"
    out.mkdir(exist_ok=True)
    made = [learning_curves(df, out), auc_vs_depth(df, out)]
    made += connection_trajectories(df, out) + adjacency_heatmaps(df, out)
    return [p for p in made if p is not None]
