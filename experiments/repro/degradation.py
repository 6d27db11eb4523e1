"""Degradation of deep plain networks: He et al. 2016, "Deep Residual Learning for Image
Recognition", Fig. 1, asked of a CTR MLP tower (the DNN model).

    logit = Dense(h_L),   h_{k+1} = connection(hist, ReLU(W_k h_k + b_k)),   L in DEPTHS

Families: none (plain, h_{k+1} = f(h_k)), identity (h_k + f(h_k)), scaled (β f(h_k) + w h_k with
learned scalars β, w) and dense (Σ_{j<=k} A_{k+1,j} h_j + A_{k+1,k+1} f(h_k), starting as
identity). The classic claim: a deeper plain tower ends at a *higher training loss* than a
shallower one (an optimisation failure, not overfitting), while residual towers do not.

The claim is about optimisation, so everything else is switched off: no dropout, no BatchNorm,
no L2 (He et al. kept BatchNorm; without it a deep plain ReLU tower also loses its forward
signal, which this experiment does not separate from degradation), and a fixed budget: constant
lr (lr_decay = 1) and no early stopping (patience = max_epochs), so every run trains the same
number of epochs. Training loss: metrics.jsonl's `train_loss`, the mean BCE over the epoch's
steps (train mode equals eval mode here: nothing is stochastic), plus `final_train_loss`, the
BCE of the last state re-evaluated on up to `TRAIN_ROWS` train rows.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import optax

from experiments import runner
from experiments.configs import DataConfig, RunConfig, TrainConfig
from experiments.repro.towers import load_run
from experiments.rundir import RunDir
from experiments.sweeps import grid

FAMILIES = ("none", "identity", "scaled", "dense")
DEPTHS = (2, 4, 8, 16, 32, 56)
TINY_DEPTHS = (2, 8, 32)
TRAIN_ROWS = 16384
TINY_DATA = {"rows": 3000, "num_fields": 4, "vocab": 10}
# per setting: data options, tower width, embedding dim, train config, seeds. Tiny and synthetic
# use width = fields x embedding dim, so every shortcut is a pure identity (no projection).
SETTINGS = {
    "tiny": (TINY_DATA, 16, 4, dict(batch_size=256, max_epochs=4), (0,)),
    "synthetic": ({"rows": 100_000}, 64, 8, dict(batch_size=1024, max_epochs=20), (0, 1, 2)),
    "frappe": ({}, 400, 10, dict(batch_size=4096, max_epochs=30), (2021, 190034, 992817)),
}


def configs(*, tiny=False, data="synthetic", depths=None, families=FAMILIES) -> list[RunConfig]:
    """One run per family x depth x seed, all under the fixed-budget protocol above."""
    if data not in ("synthetic", "frappe"):
        raise ValueError(f"degradation data must be 'synthetic' or 'frappe', got {data!r}")
    if tiny and data != "synthetic":
        raise ValueError("--tiny runs on small synthetic data; drop --data frappe")
    options, width, emb_dim, train, seeds = SETTINGS["tiny" if tiny else data]
    epochs = train["max_epochs"]
    tcfg = TrainConfig(lr=1e-3, patience=epochs, lr_decay=1.0, **train)
    runs = []
    for depth in depths or (TINY_DEPTHS if tiny else DEPTHS):
        tower = {"hidden": [width] * depth, "dropout": 0.0, "batch_norm": False}
        runs += grid(
            ["dnn"], list(families), seeds, data=DataConfig(name=data, options=dict(options)),
            train=tcfg, model_options={"dnn": tower}, embedding_dim=emb_dim,
            widths_differ=data == "frappe", dag_group=width, sweep="degradation",
        )  # fmt: skip
    return runs


def final_train_loss(run_dir, data: tuple, rows: int = TRAIN_ROWS) -> float:
    """Mean BCE of the run's last state on the first `rows` train rows (eval mode, eager)."""
    run = load_run(run_dir, which="state", data=data)
    splits = data[1]
    y = splits["train"][run.spec.label][:rows]
    losses = []
    for start in range(0, len(y), 4096):
        batch = {c: v[start : start + 4096] for c, v in splits["train"].items()}
        logits = run.model.apply(run.variables, batch, train=False)
        losses.append(np.asarray(optax.sigmoid_binary_cross_entropy(logits, batch[run.spec.label])))
    return float(np.concatenate(losses)[: len(y)].mean())


def collect(cfgs: list[RunConfig], workdir, data: tuple) -> tuple[list[dict], list[dict]]:
    """(per-epoch rows, per family x depth rows: seed means at the last epoch)."""
    epochs, by_run = [], {}
    for c in cfgs:
        key = (c.connection.name, len(c.model.options["hidden"]))
        rd = RunDir(pathlib.Path(workdir) / c.run_id)
        result = json.loads(rd.result.read_text())
        for m in rd.read_metrics():
            epochs.append(dict(family=key[0], depth=key[1], seed=c.seed, epoch=m["epoch"],
                               train_loss=m.get("train_loss", np.nan),
                               valid_auc=m.get("valid_auc", np.nan),
                               valid_logloss=m.get("valid_logloss", np.nan)))  # fmt: skip
        diverged = result["status"] == "diverged"
        last = epochs[-1]
        by_run.setdefault(key, []).append(
            dict(
                train_loss=np.nan if diverged else last["train_loss"],
                final_train_loss=np.nan if diverged else final_train_loss(rd.root, data),
                valid_auc=last["valid_auc"],
                best_valid_auc=(result["valid"] or {}).get("auc"),
                diverged=diverged,
            )  # fmt: skip
        )
    depth_rows = []
    for (family, depth), runs in sorted(by_run.items()):
        row = dict(family=family, depth=depth, seeds=len(runs),
                   diverged=sum(r["diverged"] for r in runs))  # fmt: skip
        for k in ("train_loss", "final_train_loss", "valid_auc", "best_valid_auc"):
            vals = np.array([np.nan if r[k] is None else r[k] for r in runs], float)
            row[k] = float(np.nanmean(vals)) if np.isfinite(vals).any() else np.nan
            row[f"{k}_std"] = float(np.nanstd(vals)) if np.isfinite(vals).sum() > 1 else 0.0
        depth_rows.append(row)
    return epochs, depth_rows


def plot(epoch_rows: list[dict], depth_rows: list[dict]):
    """(versus-epoch figure: train loss and valid AUC per depth, versus-depth figure)."""
    import matplotlib.pyplot as plt

    depths = sorted({r["depth"] for r in depth_rows})
    colors = {f: plt.cm.tab10(i) for i, f in enumerate(FAMILIES)}
    fig_e, axes = plt.subplots(2, len(depths), figsize=(3.2 * len(depths), 5.5), squeeze=False)
    for col, depth in enumerate(depths):
        for family in FAMILIES:
            rows = [r for r in epoch_rows if r["family"] == family and r["depth"] == depth]
            for row_i, metric in enumerate(("train_loss", "valid_auc")):
                ep = sorted({r["epoch"] for r in rows})
                mean = [np.nanmean([r[metric] for r in rows if r["epoch"] == e]) for e in ep]
                axes[row_i, col].plot(ep, mean, marker=".", color=colors[family], label=family)
        axes[0, col].set_title(f"depth {depth}")
        axes[1, col].set_xlabel("epoch")
    axes[0, 0].set_ylabel("train loss (epoch mean BCE)")
    axes[1, 0].set_ylabel("valid AUC")
    axes[0, 0].legend(fontsize=7)
    fig_e.tight_layout()
    metrics = ("train_loss", "final_train_loss", "best_valid_auc")
    fig_d, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for ax, metric in zip(axes, metrics, strict=True):
        for family in FAMILIES:
            rows = [r for r in depth_rows if r["family"] == family]
            ax.errorbar([r["depth"] for r in rows], [r[metric] for r in rows], marker="o",
                        yerr=[r[f"{metric}_std"] for r in rows], capsize=2, label=family,
                        color=colors[family])  # fmt: skip
        ax.set(xscale="log", xlabel="tower depth", title=metric)
        ax.set_xticks(depths, [str(d) for d in depths], minor=False)
        ax.set_xticks([], minor=True)
    axes[0].legend(fontsize=7)
    fig_d.tight_layout()
    return fig_e, fig_d


def _csv(path: pathlib.Path, rows: list[dict]) -> None:
    cols = list(rows[0])
    path.write_text("\n".join([",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows])
                    + "\n")  # fmt: skip


def run(workdir, *, tiny=False, data="synthetic", depths=None, families=FAMILIES, data_dir=None,
        manual_dir=None, progress=True) -> list[dict]:  # fmt: skip
    """Trains (or resumes) the runs into `workdir`, writes degradation_{epochs,depth}.{csv,png}
    and degradation.json beside them; returns the per family x depth rows."""
    import matplotlib

    import ctr.datasets

    matplotlib.use("Agg")
    out = pathlib.Path(workdir)
    cfgs = configs(tiny=tiny, data=data, depths=depths, families=families)
    runner.run_sweep(cfgs, out, data_dir=data_dir, manual_dir=manual_dir, progress=progress)
    d = cfgs[0].data
    loaded = ctr.datasets.load(d.name, data_dir=data_dir, manual_dir=manual_dir, **d.options)
    epoch_rows, depth_rows = collect(cfgs, out, loaded)
    _csv(out / "degradation_epochs.csv", epoch_rows)
    _csv(out / "degradation_depth.csv", depth_rows)
    settings = dict(
        tiny=tiny,
        data=data,
        depths=sorted({r["depth"] for r in depth_rows}),
        families=list(families),
        config=cfgs[0].to_json(),
        **runner.environment(),
    )
    blob = dict(settings=settings, by_depth=depth_rows, by_epoch=epoch_rows)
    (out / "degradation.json").write_text(json.dumps(blob, indent=1))  # fmt: skip
    for name, fig in zip(("epochs", "depth"), plot(epoch_rows, depth_rows), strict=True):
        fig.savefig(out / f"degradation_{name}.png", dpi=110)
        matplotlib.pyplot.close(fig)
    return depth_rows
