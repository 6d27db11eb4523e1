"""The degradation experiment's figures (experiments/repro/degradation.py), each drawn from the
summary a run folder holds (`degradation.load(workdir, setting)`):

  curves      He et al. 2016 Fig. 1 layout: training loss (left) and valid logloss (right)
              against steps, the shallow depth thin and the deep one thick (20 and 56 when run:
              `depth_pair`), one row per family: the plain tower's row is Fig. 1, the others its
              residual twins.
  depth       final training loss against depth, one line per family (last epoch's mean train
              loss, the last state's loss in eval mode), and the best valid AUC.
  grad_norms  per-layer gradient norm ||dloss/dθ_k|| at initialisation (the first step) and over
              the last epoch, one line per family, log scale, one row per depth of the pairs.

Seeds are averaged (gradient norms geometrically: they are drawn on a log scale); the epoch-mean
train loss is placed at the middle of its epoch. The Bayes-optimal logloss/AUC of the synthetic
data (the planted probabilities) is the dashed grey line.
"""

from __future__ import annotations

import numpy as np

from experiments.repro.degradation import FAMILIES


def depth_pair(depths) -> tuple[int, int]:
    """(shallow, deep) of one family's depths: the deepest, and He et al.'s 20 (their Fig. 1
    pair is 20 and 56) when it ran and is not the deepest, else the shallowest."""
    deep = max(depths)
    return (20 if 20 in depths and deep > 20 else min(depths)), deep


def family_pairs(rows: list[dict]) -> dict[str, tuple[int, int]]:
    """`depth_pair` of every family in `rows`: a partial grid (--collect-only) may have run a
    family to a smaller depth than another; every line is labelled with its depth."""
    return {f: depth_pair({r["depth"] for r in rows if r["family"] == f}) for f in _families(rows)}


def _families(rows: list[dict]) -> list[str]:
    present = {r["family"] for r in rows}
    return [f for f in FAMILIES if f in present] + sorted(present - set(FAMILIES))


def _colors(families: list[str]) -> dict:
    import matplotlib.pyplot as plt

    return {f: plt.cm.tab10(i % 10) for i, f in enumerate(families)}


def _bayes(ax, blob: dict, split: str, metric: str) -> None:
    bayes = blob["settings"].get("bayes_optimal")
    if bayes:
        ax.axhline(bayes[split][metric], color="grey", ls="--", lw=1, label="Bayes-optimal")


def _seed_mean(rows: list[dict], x: str, y: str) -> tuple[list, list]:
    xs = sorted({r[x] for r in rows})
    return xs, [float(np.mean([r[y] for r in rows if r[x] == v])) for v in xs]


def curves(blob: dict):
    """Training loss and valid logloss versus steps, shallow (thin) and deep (thick) tower."""
    import matplotlib.pyplot as plt

    rows = blob["epochs"]
    pairs = family_pairs(rows)
    families = list(pairs)
    colors = _colors(families)
    fig, axes = plt.subplots(len(families), 2, figsize=(9, 2.3 * len(families)), squeeze=False,
                             sharex=True)  # fmt: skip
    for row, family in enumerate(families):
        for depth, width in zip(pairs[family], (1.0, 2.6), strict=True):
            runs = [r for r in rows if r["family"] == family and r["depth"] == depth]
            if not runs:
                continue
            steps_per_epoch = runs[0]["step"] / runs[0]["epoch"]
            steps, train = _seed_mean(runs, "step", "train_loss")
            mid = [s - steps_per_epoch / 2 for s in steps]  # an epoch mean: its middle
            style = dict(color=colors[family], lw=width, label=f"{family}, depth {depth}")
            axes[row, 0].plot(mid, train, **style)
            axes[row, 1].plot(*_seed_mean(runs, "step", "valid_logloss"), **style)
        _bayes(axes[row, 0], blob, "train", "logloss")
        _bayes(axes[row, 1], blob, "valid", "logloss")
        axes[row, 0].set_ylabel("train loss (BCE)")
        axes[row, 1].set_ylabel("valid logloss")
        axes[row, 0].legend(fontsize=7)
    axes[0, 0].set_title("training")
    axes[0, 1].set_title("validation")
    for ax in axes[-1]:
        ax.set_xlabel("steps")
    fig.suptitle(_title(blob), fontsize=9)
    fig.tight_layout()
    return fig


def depth(blob: dict):
    """Final training loss (two measurements) and best valid AUC versus depth, per family."""
    import matplotlib.pyplot as plt

    rows = blob["depth"]
    families = _families(rows)
    colors = _colors(families)
    depths = blob["settings"]["depths"]
    panels = (("train_loss", "last epoch's train loss (train mode)", "train", "logloss"),
              ("final_train_loss", "last state's train loss (eval mode)", "train", "logloss"),
              ("best_valid_auc", "best valid AUC", "valid", "auc"))  # fmt: skip
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, (metric, title, split, bayes) in zip(axes, panels, strict=True):
        for family in families:
            fam = [r for r in rows if r["family"] == family]
            ax.errorbar([r["depth"] for r in fam], [r[metric] for r in fam], marker="o",
                        yerr=[r[f"{metric}_std"] for r in fam], capsize=2, label=family,
                        color=colors[family])  # fmt: skip
        _bayes(ax, blob, split, bayes)
        ax.set(xscale="log", xlabel="tower depth", title=title)
        ax.set_xticks(depths, [str(d) for d in depths], minor=False)
        ax.set_xticks([], minor=True)
    axes[0].legend(fontsize=7)
    fig.suptitle(_title(blob), fontsize=9)
    fig.tight_layout()
    return fig


WHEN = (("grad_norm_init", "at initialisation (step 1)"),
        ("grad_norm_trained", "over the last epoch"))  # fmt: skip


def grad_norms(blob: dict):
    """Per-layer gradient norm at initialisation and after training, log scale, per family."""
    import matplotlib.pyplot as plt

    rows = blob["layers"]
    if not rows:
        raise ValueError("the summary has no per-layer gradient norms (train.grad_norm_layers off)")
    pairs = family_pairs(rows)
    families = list(pairs)
    colors = _colors(families)
    depths = sorted({d for pair in pairs.values() for d in pair})
    fig, axes = plt.subplots(len(depths), 2, figsize=(10, 3.2 * len(depths)), squeeze=False)
    for row, d in enumerate(depths):
        for col, (key, when) in enumerate(WHEN):
            ax = axes[row, col]
            for family in families:
                runs = [r for r in rows if r["family"] == family and r["depth"] == d]
                if d not in pairs[family]:
                    continue
                layers = sorted({r["layer"] for r in runs})
                with np.errstate(divide="ignore"):  # a zero gradient (dead layer): not drawn
                    geo = [np.exp(np.mean([np.log(r[key]) for r in runs if r["layer"] == k]))
                           for k in layers]  # fmt: skip
                ax.plot(layers, geo, marker=".", color=colors[family], label=family)
            ax.set(yscale="log", xlabel="layer", title=f"depth {d}: {when}")
            ax.set_ylabel("||dloss/dθ_layer||")
    from matplotlib.lines import Line2D

    # one legend for every family: a row holds only the families run to that depth
    handles = [Line2D([], [], color=colors[f], marker=".", label=f) for f in families]
    # the title on the first line, the legend on the second: in inches, so at every height
    inch = 1 / fig.get_figheight()
    fig.suptitle(_title(blob), fontsize=9, x=0.02, ha="left", y=1 - 0.08 * inch, va="top")
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.3 * inch),
               fontsize=7, ncol=len(families))  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 * inch))
    return fig


def _title(blob: dict) -> str:
    s = blob["settings"]
    data = "tiny synthetic" if s["tiny"] else s["data"]
    return f"setting {s['setting']}, {data}, {s['schedule']}, {len(s['seeds'])} seed(s)"


FIGURES = {"curves": curves, "depth": depth, "grad_norms": grad_norms}
