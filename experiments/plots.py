"""Plots from run folders (matplotlib Agg, PNG): learning curves, AUC vs depth, learned
connection quantities per layer over training (beta, w, gates: the "conn/..." columns of
metrics.jsonl, read by experiments.connections) and heatmaps over training and of the best state
(matrices in result.json's "connection") of the adjacency/gates and of every per-layer mixing
matrix small enough to be logged each epoch (hyper-connections' stream weights, mHC's H_res
bias, ...)."""

from __future__ import annotations

import json
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from experiments import connections  # noqa: E402
from experiments.rundir import RunDir  # noqa: E402
from experiments.tables import load_results, summarize  # noqa: E402


def learning_curves(df, out: pathlib.Path) -> pathlib.Path:
    models = sorted(df["model"].unique())
    fig, axes = plt.subplots(1, len(models), figsize=(4.5 * len(models), 3.5), squeeze=False)
    colors = {f: plt.cm.tab10(i % 10) for i, f in enumerate(sorted(df["family"].unique()))}
    for ax, model in zip(axes[0], models, strict=True):
        seen = set()
        for _, r in df[df["model"] == model].iterrows():
            rows = [m for m in RunDir(r["path"]).read_metrics() if "valid_auc" in m]
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
    """Per run: one panel per learned quantity (beta, w, gate_mean, ...), one line per layer
    (channel mean for per-channel quantities), versus epoch, from metrics.jsonl."""
    paths = []
    for _, r in df.iterrows():
        epochs, series = connections.history(r["path"])
        layers = connections.per_layer(series)
        if not layers:
            continue
        fig, axes = plt.subplots(1, len(layers), figsize=(3.6 * len(layers), 3.2), squeeze=False)
        for ax, (quantity, by_layer) in zip(axes[0], layers.items(), strict=True):
            for i, values_E in by_layer.items():
                color = plt.cm.viridis(i / max(len(by_layer) - 1, 1))
                ax.plot(epochs, values_E, marker=".", color=color, label=f"layer {i}")
            ax.set(title=quantity, xlabel="epoch")
        axes[0, 0].legend(fontsize=6)
        fig.suptitle(f"{r['model']}/{r['family']} depth {r['depth']} seed {r['seed']}", fontsize=8)
        paths.append(_save(fig, out / f"connections_{r['run_id']}.png"))
    return paths


def adjacency_over_training(run_dir, out: pathlib.Path, *, panels: int = 4) -> pathlib.Path | None:
    """Heatmaps of each assembled matrix (".../adjacency", ".../gates"; channel mean) and of
    each per-layer 2-D matrix logged every epoch (stream mixing), at up to `panels` epochs from
    metrics.jsonl, then the best state from result.json."""
    run_dir = pathlib.Path(run_dir)
    epochs, series = connections.history(run_dir)
    final = json.loads((run_dir / "result.json").read_text())["connection"]
    assembled = [k.removeprefix("conn/") for k in final if k.endswith(("adjacency", "gates"))
                 and "/conn_" not in k and not k.startswith("conn/conn_")]  # fmt: skip
    mixing = [  # (E, n, m) per-layer matrices; dense's rows are drawn assembled
        k for k, v in series.items()
        if v.ndim == 3 and k not in assembled and not k.endswith(("/adjacency", "/gate_logits"))
    ]  # fmt: skip
    names = assembled + mixing
    if not names:
        return None
    picks = (
        sorted({int(round(x)) for x in np.linspace(0, len(epochs) - 1, panels)})
        if len(epochs)
        else []
    )
    cols = len(picks) + 1
    fig, axes = plt.subplots(
        len(names), cols, figsize=(2.6 * cols, 2.4 * len(names)), squeeze=False
    )
    for row, name in zip(axes, names, strict=True):
        mats = [(f"epoch {epochs[i]}", series[name][i]) for i in picks if name in series]
        mats.append(("best", np.asarray(final[f"conn/{name}"])))
        for ax in row[len(mats) :]:  # matrices over 64 numbers are logged for the best state only
            ax.axis("off")
        for ax, (title, m) in zip(row, mats, strict=False):
            m = np.atleast_2d(m)  # a single merge (e.g. DeepFM's combine slot) is one row
            m = m.reshape(m.shape[0], m.shape[1], -1).mean(axis=2)
            lim = np.abs(m).max() or 1.0
            ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(f"{name}\n{title}", fontsize=7)
            ax.set(xlabel="source state j", ylabel="target k+1")
    return _save(fig, out / f"adjacency_{run_dir.name}.png")


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
    made += [adjacency_over_training(p, out) for p in df["path"]]
    return [p for p in made if p is not None]
