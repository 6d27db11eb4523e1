"""Degradation of deep plain networks: He et al. 2016, "Deep Residual Learning for Image
Recognition", Fig. 1 and §4.1, asked of a CTR MLP tower (the DNN model).

The claim: with BatchNorm the forward and backward signals of a deep plain net do not vanish,
yet a deeper plain net ends at a *higher training loss* than a shallower one (an optimisation
failure, not overfitting), while a residual net of the same depth does not.

Settings (`SETTINGS`):
  he2016 (default)  their setting: BatchNorm on every hidden layer, placed as ResNet v1 (Fig. 2):
                    h_{k+1} = ReLU(connection(hist, BN(W_k h_k + b_k)))
                    (plain: ReLU(BN(W_k h_k + b_k)); identity: ReLU(h_k + BN(W_k h_k + b_k))).
  no_bn             the first version of this experiment: no BatchNorm, activation in the branch,
                    h_{k+1} = connection(hist, ReLU(W_k h_k + b_k)). Without BN a deep plain ReLU
                    tower also loses its forward signal, which this setting does not separate
                    from degradation.
  zero_gamma        a diagnostic of he2016, not a setting of the paper: every block's BN scale γ
                    starts at 0 (Goyal et al. 2017, §5.1; ctr/layers/tower.py), so each residual
                    layer starts as ReLU(h_k) and the output scale at initialisation no longer
                    grows with depth as it does under he2016 (h_L sums L unit-variance BN
                    outputs). Residual families only: the plain tower would start constant.
All: logit = Dense(h_L), no dropout, no L2, and a fixed budget: Adam, constant lr 1e-3
(lr_decay = 1), no early stopping (patience = max_epochs), so every depth trains the same
max_epochs x ceil(train rows / batch) steps. Every step also records each layer's gradient
norm ||dloss/dθ_k|| of the block's parameters θ_k (Dense and BN; train.grad_norm_layers).

Families: none (plain), identity, scaled (β f + w h, learned scalars), dense (learned adjacency,
starting as identity), hyper and mhc (n = 4 streams, their defaults). Measured: metrics.jsonl's
`train_loss` (mean BCE over an epoch's steps, train mode), `final_train_loss` (the BCE of the
last state on up to `TRAIN_ROWS` train rows, eval mode), valid logloss and AUC per epoch, the
per-layer gradient norms at the first step (initialisation) and over the last epoch, and the
logits' standard deviation at initialisation (`init_logit_std`).
The figures are in experiments/repro/degradation_figures.py.
"""

from __future__ import annotations

import json
import pathlib

import jax
import numpy as np
import optax

import resnets
from ctr.layers.tower import check_zero_init_residual
from experiments import runner, train
from experiments.configs import DataConfig, RunConfig, TrainConfig
from experiments.protocol import model_columns
from experiments.repro.towers import load_run
from experiments.rundir import RunDir
from experiments.sweeps import grid

FAMILIES = ("none", "identity", "scaled", "dense", "hyper", "mhc")
DEPTHS = (2, 4, 8, 16, 20, 32, 56)  # 20 and 56: the pair of He et al.'s Fig. 1
TINY_DEPTHS = (2, 8, 32)
TRAIN_ROWS = 16384
INIT_ROWS = 4096
GRAD_NORM_LAYERS = r"^tower/block_(\d+)/"
TINY_DATA = {"rows": 3000, "num_fields": 4, "vocab": 10}
# per data size: data options, tower width, embedding dim, train config, seeds. Tiny and
# synthetic use width = fields x embedding dim, so every shortcut is a pure identity.
SIZES = {
    "tiny": (TINY_DATA, 16, 4, dict(batch_size=256, max_epochs=4), (0,)),
    "synthetic": ({"rows": 100_000}, 64, 8, dict(batch_size=1024, max_epochs=20), (0, 1, 2)),
    "frappe": ({}, 400, 10, dict(batch_size=4096, max_epochs=30), (2021, 190034, 992817)),
}
# per setting: the tower options besides `hidden`
SETTINGS = {
    "he2016": {"dropout": 0.0, "batch_norm": True, "activation_after_merge": True},
    "no_bn": {"dropout": 0.0, "batch_norm": False},
    "zero_gamma": {
        "dropout": 0.0,
        "batch_norm": True,
        "activation_after_merge": True,
        "zero_init_residual": True,
    },
}


def default_families(setting: str) -> tuple[str, ...]:
    """FAMILIES, less the plain tower where the setting zeroes every residual branch."""
    return tuple(
        f for f in FAMILIES if f != "none" or not SETTINGS[setting].get("zero_init_residual")
    )


def configs(*, setting="he2016", tiny=False, data="synthetic", depths=None,
            families=None) -> list[RunConfig]:  # fmt: skip
    """One run per family x depth x seed, all under the fixed-budget protocol above."""
    if setting not in SETTINGS:
        raise ValueError(f"degradation setting must be one of {sorted(SETTINGS)}, got {setting!r}")
    families = families or default_families(setting)
    if data not in ("synthetic", "frappe"):
        raise ValueError(f"degradation data must be 'synthetic' or 'frappe', got {data!r}")
    if tiny and data != "synthetic":
        raise ValueError("--tiny runs on small synthetic data; drop --data frappe")
    tower_options = SETTINGS[setting]
    fused = [f for f in families if f in resnets.CONNECTIONS and resnets.CONNECTIONS[f].fused]
    if fused and tower_options.get("activation_after_merge"):
        raise ValueError(
            f"setting {setting!r} puts the ReLU after the merge, and {fused} rewire the tower as "
            "one neuron graph with no merge: drop them or use setting 'no_bn'"
        )
    if tower_options.get("zero_init_residual"):
        for family in families:  # before training: the tower would raise in the first run
            check_zero_init_residual(family, tower_options.get("activation_after_merge", False))
    options, width, emb_dim, budget, seeds = SIZES["tiny" if tiny else data]
    epochs = budget["max_epochs"]
    tcfg = TrainConfig(lr=1e-3, patience=epochs, lr_decay=1.0, grad_norm_layers=GRAD_NORM_LAYERS,
                       **budget)  # fmt: skip
    runs = []
    for depth in depths or (TINY_DEPTHS if tiny else DEPTHS):
        tower = {"hidden": [width] * depth, **tower_options}
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


def init_logit_std(cfg: RunConfig, data: tuple, rows: int = INIT_ROWS) -> float:
    """Standard deviation of the logits of the run's initial state (the runner's init program
    and seed key) on the first `rows` train rows, BatchNorm on batch statistics as in the first
    training step: the output scale a tower of this depth starts from."""
    spec, splits = data
    model = train.build_model(cfg, spec)
    batch = {c: np.asarray(splits["train"][c][:rows]) for c in model_columns(spec)}
    sample = {c: v[:2] for c, v in batch.items()}
    init = train.make_init_fn(model, train.make_optimizer(cfg.train), sample, cfg.model.init)
    state = init(jax.random.PRNGKey(cfg.seed))
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    logits, _ = model.apply(variables, batch, train=True, mutable=["batch_stats"])
    return float(np.std(np.asarray(logits)))


def collect(cfgs: list[RunConfig], workdir, data: tuple) -> dict[str, list[dict]]:
    """The run folders' numbers as rows: "epochs" (per run and epoch; `step` = steps trained at
    the epoch's end), "layers" (per run and layer: gradient norm at the first step and mean over
    the last epoch) and "depth" (per family x depth: means and stds over seeds)."""
    epochs, layers, by_run = [], [], {}
    for c in cfgs:
        key = (c.connection.name, len(c.model.options["hidden"]))
        rd = RunDir(pathlib.Path(workdir) / c.run_id)
        result = json.loads(rd.result.read_text())
        per_epoch = result["steps"] // max(result["epochs"], 1)
        metrics = [m for m in rd.read_metrics() if "train_loss" in m]  # diverged rows: none
        for m in metrics:
            epochs.append(dict(family=key[0], depth=key[1], seed=c.seed, epoch=m["epoch"],
                               step=m["epoch"] * per_epoch, train_loss=m["train_loss"],
                               valid_auc=m["valid_auc"],
                               valid_logloss=m["valid_logloss"]))  # fmt: skip
        if metrics and "layer_grad_norm" in metrics[-1]:
            pairs = zip(metrics[0]["layer_grad_norm_first"], metrics[-1]["layer_grad_norm"],
                        strict=True)  # fmt: skip
            for layer, (init, trained) in enumerate(pairs):
                layers.append(dict(family=key[0], depth=key[1], seed=c.seed, layer=layer + 1,
                                   grad_norm_init=init, grad_norm_trained=trained))  # fmt: skip
        diverged = result["status"] == "diverged"
        by_run.setdefault(key, []).append(
            dict(
                train_loss=np.nan if diverged or not metrics else metrics[-1]["train_loss"],
                final_train_loss=np.nan if diverged else final_train_loss(rd.root, data),
                init_logit_std=init_logit_std(c, data),
                valid_auc=np.nan if diverged or not metrics else metrics[-1]["valid_auc"],
                best_valid_auc=(result["valid"] or {}).get("auc"),
                diverged=diverged,
            )  # fmt: skip
        )
    depth_rows = []
    for (family, depth), runs in sorted(by_run.items()):
        row = dict(family=family, depth=depth, seeds=len(runs),
                   diverged=sum(r["diverged"] for r in runs))  # fmt: skip
        for k in ("train_loss", "final_train_loss", "valid_auc", "best_valid_auc",
                  "init_logit_std"):  # fmt: skip
            vals = np.array([np.nan if r[k] is None else r[k] for r in runs], float)
            row[k] = float(np.nanmean(vals)) if np.isfinite(vals).any() else np.nan
            row[f"{k}_std"] = float(np.nanstd(vals)) if np.isfinite(vals).sum() > 1 else 0.0
        depth_rows.append(row)
    return {"epochs": epochs, "layers": layers, "depth": depth_rows}


def bayes_optimal(splits: dict) -> dict | None:
    """Logloss and AUC of the planted probabilities ("prob") on train and valid, when the data
    has them (synthetic); the floor every curve is drawn against."""
    from ctr.datasets.synthetic import bayes_optimal as of_split

    if "prob" not in splits["train"]:
        return None
    return {s: of_split(splits[s]) for s in ("train", "valid")}


def _csv(path: pathlib.Path, rows: list[dict]) -> None:
    cols = list(rows[0]) if rows else []
    path.write_text("\n".join([",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows])
                    + "\n")  # fmt: skip


def prefix(setting: str) -> str:
    """File-name stem of a setting's summary files in the workdir (run folders are shared)."""
    return f"degradation_{setting}"


def load(workdir, setting: str = "he2016") -> dict:
    """The summary `run` wrote: {"settings", "epochs", "layers", "depth"}."""
    path = pathlib.Path(workdir) / f"{prefix(setting)}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `resctr repro degradation` first")
    return json.loads(path.read_text())


def run(workdir, *, setting="he2016", tiny=False, data="synthetic", depths=None,
        families=None, data_dir=None, manual_dir=None, progress=True,
        collect_only=False) -> dict:  # fmt: skip
    """Trains (or resumes) the runs into `workdir` and writes, beside them,
    degradation_<setting>.json, _{epochs,layers,depth}.csv and the three figures
    _{curves,depth,grad_norms}.png; returns what the json holds. The summary also keeps every
    finished run of the setting's whole grid that earlier calls left in `workdir`, so a call
    that adds a few cells does not drop the others from the figures. collect_only=True trains
    nothing: the summary holds the requested runs that finished and names the others in
    settings["missing"]."""
    import matplotlib

    import ctr.datasets
    from experiments.repro import degradation_figures as figures

    matplotlib.use("Agg")
    out = pathlib.Path(workdir)
    cfgs = configs(setting=setting, tiny=tiny, data=data, depths=depths, families=families)
    missing = []
    if collect_only:
        missing = [c for c in cfgs if not RunDir(out / c.run_id).result.exists()]
        cfgs = [c for c in cfgs if c not in missing]
        if not cfgs:
            raise FileNotFoundError(f"{out} holds no finished degradation run of these settings")
    else:
        runner.run_sweep(cfgs, out, data_dir=data_dir, manual_dir=manual_dir, progress=progress)
        trained = {c.run_id for c in cfgs}
        cfgs += [c for c in configs(setting=setting, tiny=tiny, data=data)
                 if c.run_id not in trained and RunDir(out / c.run_id).result.exists()]  # fmt: skip
    d = cfgs[0].data
    loaded = ctr.datasets.load(d.name, data_dir=data_dir, manual_dir=manual_dir, **d.options)
    rows = collect(cfgs, out, loaded)
    stem = prefix(setting)
    for name in ("epochs", "layers", "depth"):
        _csv(out / f"{stem}_{name}.csv", rows[name])
    t = cfgs[0].train
    settings = dict(
        setting=setting,
        tiny=tiny,
        data=data,
        depths=sorted({r["depth"] for r in rows["depth"]}),
        families=list(dict.fromkeys(c.connection.name for c in cfgs)),
        seeds=sorted({c.seed for c in cfgs}),
        steps=max((r["step"] for r in rows["epochs"]), default=0),
        schedule=f"Adam, constant lr {t.lr:g}, batch {t.batch_size}, {t.max_epochs} epochs",
        bayes_optimal=bayes_optimal(loaded[1]),
        missing=[
            dict(family=c.connection.name, depth=len(c.model.options["hidden"]), seed=c.seed)
            for c in missing
        ],
        config=cfgs[0].to_json(),
        **runner.environment(),
    )
    blob = dict(settings=settings, **rows)
    (out / f"{stem}.json").write_text(json.dumps(blob, indent=1))
    for name, draw in figures.FIGURES.items():
        fig = draw(blob)
        fig.savefig(out / f"{stem}_{name}.png", dpi=110)
        matplotlib.pyplot.close(fig)
    return blob
