"""resctr vs FuxiCTR (the BARS peer), side by side on one device, over several seeds.

Both train a BARS model (`--model`: deepfm, dnn, dcnv2, finalmlp, dcn, xdeepfm, wide_deep,
autoint, autoint_plus, fibinet; each with its BARS_FRAPPE settings, experiments/sweeps.py;
DeepFM: Guo et al. 2017, y = LR + FM + MLP, emb 10, tower 400-400-400 ReLU, dropout 0.2,
BatchNorm, batch 4096) on Frappe_x1 under the BARS protocol:
Adam 1e-3, embedding L2 (lambda/2 ||E||^2 per batch), lr x0.1 after a non-improving epoch, stop
after `patience`, monitor valid AUC, keep the best state. For every seed of `--seeds` the peer
runs first, as a subprocess in its own environment (bench/peer_fuxictr.py, FuxiCTR's model_zoo
class from `--fuxictr-src`, one JSON line back); resctr then runs in this process through
experiments.protocol.train_runs, the runner's own training path, with sweeps.bars_run's config
(FuxiCTR's training defaults, issue 17) or, `--resctr plain`, without them (the settings before
issue 17: no clipping, flax initialisers). Printed:

  per tool, means over seeds: train examples/s (train rows / median train-only epoch time,
  epoch 1 excluded: compile), wall per epoch, time to result, epochs, best valid AUC/logloss;
  the per-epoch valid AUC and logloss, mean over the runs that reached that epoch;
  the best-state valid AUC and logloss per seed, mean +- std, and the difference
  resctr - FuxiCTR with its paired t over seeds (scipy.stats.ttest_rel, paired by seed).

Then, `--process cold,warm` (default), each seed's resctr run again as a fresh `resctr run`
process, first with an empty XLA compile cache (cold), then with the cache it filled (warm),
timed launch to result on disk like the peer's subprocess: the time a researcher waits.

`--figure PNG` draws every run's valid AUC and logloss per epoch in one figure; `--json` keeps
every result (rewritten after each run). Quick timing: `--max-epochs 2 --seeds 2021`.
Usage: uv run python bench/peer.py [--model deepfm] [--seeds 2021,190034,992817] [--max-epochs N]
       [--resctr parity,plain] [--figure PNG] [--json FILE] [--fuxictr-src DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gzip
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
FRAPPE = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "frappe" / "frappe_x1"
SETUP_PEER = (
    "python3.11 -m venv .venv-peer && .venv-peer/bin/pip install torch==2.13.0 fuxictr==2.3.9 "
    'keras-preprocessing "polars<=1.0"   (see bench/README.md)'
)


def steady(seconds: list[float]) -> float:
    """Median epoch time without epoch 1 (it pays XLA compilation / torch warm-up)."""
    return statistics.median(seconds[1:] or seconds)


@contextlib.contextmanager
def timed_epochs():
    """Yields a list that collects the seconds of every jitted training epoch run inside.

    The protocol records no per-epoch train time, so the epoch-function factory is wrapped for
    the duration: each epoch is timed up to its output being ready (jax imported lazily, as
    run_resctr picks the platform first)."""
    import jax

    from experiments import train

    seconds: list[float] = []
    make_epoch_fn = train.make_epoch_fn

    def timed_make_epoch_fn(*a, **kw):
        epoch_fn = make_epoch_fn(*a, **kw)

        def timed(*xs):
            t = time.perf_counter()
            out = jax.block_until_ready(epoch_fn(*xs))
            seconds.append(time.perf_counter() - t)
            return out

        return timed

    train.make_epoch_fn = timed_make_epoch_fn
    try:
        yield seconds
    finally:
        train.make_epoch_fn = make_epoch_fn


def plain_csv(src_dir: pathlib.Path, split: str, dst_dir: pathlib.Path) -> pathlib.Path:
    """FuxiCTR reads only plain .csv: decompress (or copy) the split into the scratch folder."""
    dst = dst_dir / f"{split}.csv"
    gz, plain = src_dir / f"{split}.csv.gz", src_dir / f"{split}.csv"
    if plain.exists():
        shutil.copyfile(plain, dst)
    elif gz.exists():
        with gzip.open(gz, "rb") as f, dst.open("wb") as out:
            shutil.copyfileobj(f, out)
    else:
        raise SystemExit(f"{src_dir}: no {split}.csv or {split}.csv.gz (BARS Frappe_x1 layout)")
    return dst


MODELS = (
    "deepfm", "dnn", "dcnv2", "finalmlp", "dcn", "xdeepfm", "wide_deep", "autoint",
    "autoint_plus", "fibinet",
)  # fmt: skip


def fuxictr_kwargs(cfg) -> dict:
    """The model_zoo class's options for resctr's BARS config `cfg` (one source of the
    hyper-parameters: sweeps.BARS_FRAPPE)."""
    from ctr.models import MODELS as REGISTRY

    defaults = {f.name: f.default for f in dataclasses.fields(REGISTRY[cfg.model.name])}
    o, t = defaults | cfg.model.options, cfg.train
    common = dict(
        embedding_dim=cfg.model.embedding_dim,
        learning_rate=t.lr,
        embedding_regularizer=t.embedding_l2,
        net_regularizer=t.net_l2,
    )
    name = cfg.model.name
    if name in ("deepfm", "dnn", "wide_deep"):
        return common | dict(
            hidden_units=o["hidden"],
            hidden_activations="ReLU",
            net_dropout=o["dropout"],
            batch_norm=o["batch_norm"],
        )
    if name == "dcnv2":
        return common | dict(
            model_structure=o["structure"],
            use_low_rank_mixture=o["low_rank"] is not None,
            num_cross_layers=o["num_cross_layers"],
            stacked_dnn_hidden_units=o["hidden"],
            parallel_dnn_hidden_units=o["hidden"],
            dnn_activations="ReLU",
            net_dropout=o["dropout"],
            batch_norm=o["batch_norm"],
        )
    if name in ("dcn", "xdeepfm"):
        cin = {"cin_hidden_units": o["cin_units"]} if name == "xdeepfm" else {}
        cross = {"num_cross_layers": o["num_cross_layers"]} if name == "dcn" else {}
        return (
            common
            | cin
            | cross
            | dict(
                dnn_hidden_units=o["hidden"],
                dnn_activations="ReLU",
                net_dropout=o["dropout"],
                batch_norm=o["batch_norm"],
            )
        )
    if name == "finalmlp":
        return common | dict(
            mlp1_hidden_units=o["mlp1_hidden"],
            mlp1_dropout=o["mlp1_dropout"],
            mlp1_batch_norm=o["batch_norm"],
            mlp2_hidden_units=o["mlp2_hidden"],
            mlp2_dropout=o["mlp2_dropout"],
            mlp2_batch_norm=o["batch_norm"],
            use_fs=True,
            fs_hidden_units=o["fs_hidden"],
            fs1_context=o["fs1_context"],
            fs2_context=o["fs2_context"],
            num_heads=o["num_heads"],
        )
    if name in ("autoint", "autoint_plus"):  # one model_zoo class: AutoInt+ has a tower
        return common | dict(
            dnn_hidden_units=list(o["hidden"]),
            dnn_activations="ReLU",
            attention_layers=o["attention_layers"],
            num_heads=o["num_heads"],
            attention_dim=o["attention_dim"],
            net_dropout=o["dropout"],
            batch_norm=o["batch_norm"],
            layer_norm=o["layer_norm"],
            use_scale=o["use_scale"],
            use_wide=o["use_wide"],
            use_residual=o["builtin_shortcut"],
        )
    if name == "fibinet":
        return common | dict(
            hidden_units=list(o["hidden"]),
            hidden_activations="ReLU",
            reduction_ratio=o["reduction_ratio"],
            bilinear_type=o["bilinear_type"],
            net_dropout=o["dropout"],
            batch_norm=o["batch_norm"],
        )
    raise SystemExit(f"--model {name}: no FuxiCTR model_zoo mapping; choose from {MODELS}")


def run_peer(args, scratch: pathlib.Path, csvs: dict, cfg, seed: int) -> dict:
    cmd = [
        str(args.peer_python),
        str(HERE / "peer_fuxictr.py"),
        "--train", str(csvs["train"]),
        "--valid", str(csvs["valid"]),
        "--workdir", str(scratch / f"fuxictr-{seed}"),
        "--max-epochs", str(cfg.train.max_epochs),
        "--patience", str(cfg.train.patience),
        "--batch-size", str(cfg.train.batch_size),
        "--threads", str(args.threads),
        "--device", args.device,
        "--seed", str(seed),
        "--model", cfg.model.name,
        "--model-kwargs", json.dumps(fuxictr_kwargs(cfg)),
    ]  # fmt: skip
    if args.fuxictr_src:
        cmd += ["--fuxictr-src", str(args.fuxictr_src)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    process_s = time.perf_counter() - t0
    if out.returncode:
        raise SystemExit(f"peer failed (exit {out.returncode}): {' '.join(cmd)}")
    return json.loads(out.stdout.strip().splitlines()[-1]) | {"process_s": process_s}


def resctr_config(model: str, seed: int, variant: str, max_epochs: int):
    """sweeps.bars_run's config; "plain" turns FuxiCTR's training defaults back off."""
    from experiments import sweeps
    from experiments.configs import ModelConfig, TrainConfig

    cfg = sweeps.bars_run(model, "none", seed, sweep="peer", max_epochs=max_epochs)
    if variant == "plain":
        fields = TrainConfig.__dataclass_fields__
        off = {k: fields[k].default for k in sweeps.FUXICTR_TRAIN}
        init = ModelConfig.__dataclass_fields__["init"].default
        cfg = dataclasses.replace(
            cfg,
            train=dataclasses.replace(cfg.train, **off),
            model=dataclasses.replace(cfg.model, init=init),
        )
    return cfg


def peer_style_logloss(labels: np.ndarray, logits: np.ndarray) -> float:
    """Logloss as the peer computes it in this environment: torch's float32 sigmoid (1.0 from
    logit ~17.3 on), then scikit-learn's log_loss on float64 probabilities clipped to
    [eps, 1 - eps] (eps 2.2e-16 in scikit-learn >= 1.5; FuxiCTR's own eps=1e-7 is shimmed away).
    resctr's logloss is exact (from logits); the two differ only on saturated predictions."""
    with np.errstate(over="ignore"):
        p = (1 / (1 + np.exp(-logits.astype(np.float32)))).astype(np.float32).astype(np.float64)
    eps = np.finfo(np.float64).eps
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def best_valid_logits(run_dir: pathlib.Path, spec, splits) -> np.ndarray:
    """Logits of the run's best state on the valid split (restored from its checkpoint)."""
    import jax

    from experiments import protocol
    from experiments.repro.towers import load_run

    run = load_run(run_dir, which="best", data=(spec, splits))
    apply = jax.jit(lambda batch: run.model.apply(run.variables, batch, train=False))
    valid = {c: splits["valid"][c] for c in protocol.model_columns(spec)}
    n, b = len(valid[spec.label]), 16384
    return np.concatenate(
        [np.asarray(apply({c: v[i : i + b] for c, v in valid.items()})) for i in range(0, n, b)]
    )


def run_resctr(args, scratch: pathlib.Path, cfg) -> dict:
    # JAX reads JAX_PLATFORMS at import: pick the device before the first jax import.
    os.environ["JAX_PLATFORMS"] = args.device
    import jax

    import ctr.datasets
    from experiments import metrics, protocol, runner, train
    from experiments.rundir import RunDir

    t0 = time.perf_counter()
    spec, splits = ctr.datasets.load("frappe", manual_dir=args.data)
    prep_s = time.perf_counter() - t0
    marks: list[float] = []
    done: dict = {}

    def finish(cfg, rd, prot, test, best_params):
        done.update(prot=prot, params=train.param_counts(best_params), t=time.perf_counter())

    rd = RunDir(scratch / "resctr" / cfg.run_id)
    rd.start(cfg.to_json())
    with timed_epochs() as train_s:
        t1 = time.perf_counter()
        protocol.train_runs(
            [cfg],
            [rd],
            spec,
            splits,
            finish=finish,
            on_epoch=lambda e: marks.append(time.perf_counter()),
        )
    rows = rd.read_metrics()
    rd.close()
    prot = done["prot"]
    logits = best_valid_logits(rd.root, spec, splits)
    valid_y = splits["valid"][spec.label].astype(np.float64)
    walls = [b - a for a, b in zip([t1, *marks], marks, strict=False)]
    n_train = len(splits["train"][spec.label])
    return {
        "tool": f"resctr / jax {jax.__version__}",
        "model": cfg.model.name,
        "seed": cfg.seed,
        "config": cfg.to_json(),
        "device": runner.environment()["device"],
        "threads": os.cpu_count(),  # XLA's CPU client uses every core; it has no thread knob
        "n_train": n_train,
        "params": sum(done["params"].values()),
        "prep_s": prep_s,
        "epochs": prot.epoch,
        "best_epoch": prot.best_epoch,
        "epoch_wall_s": walls,
        "epoch_train_s": train_s,
        "examples_per_s": n_train / steady(train_s),
        "fit_s": done["t"] - t1,
        "valid_auc": prot.best_valid["auc"],
        "valid_logloss": prot.best_valid["logloss"],
        "valid_logloss_exact_recomputed": metrics.logloss(valid_y, logits),
        "valid_logloss_peer_style": peer_style_logloss(valid_y, logits),
        "valid_auc_per_epoch": [r["valid_auc"] for r in rows],
        "valid_logloss_per_epoch": [r["valid_logloss"] for r in rows],
    }


PROCESS_SWEEP = '''"""Hypothesis: none; one run of bench/peer.py, timed as a fresh process."""
import json

from experiments.configs import RunConfig


def sweep():
    return [RunConfig.from_json(json.loads(%r))]
'''


def run_resctr_process(args, scratch: pathlib.Path, cfg, cache: pathlib.Path) -> dict:
    """`resctr run` of `cfg` as a new process, launch to exit (imports, data load from the
    prepared cache, init, compile, training, result.json), with the XLA compile cache in
    `cache`: an empty folder is a cold start, the folder a previous call filled a warm one."""
    import ctr.datasets.store

    sweep = scratch / "peer_process.py"
    sweep.write_text(PROCESS_SWEEP % json.dumps(cfg.to_json()))
    workdir = scratch / f"process-{cache.name}"
    shutil.rmtree(workdir, ignore_errors=True)
    env = os.environ | {
        "XDG_CACHE_HOME": str(cache),  # the compile cache only: data comes from RESCTR_DATA_DIR
        "RESCTR_DATA_DIR": str(ctr.datasets.store.default_data_dir()),
        "JAX_PLATFORMS": args.device,
    }
    resctr = pathlib.Path(sys.executable).with_name("resctr")
    cmd = [str(resctr), "run", "--config", str(sweep), "--workdir", str(workdir),
           "--manual-dir", str(args.data), "--no-progress"]  # fmt: skip
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    process_s = time.perf_counter() - t0
    if out.returncode:
        raise SystemExit(f"resctr run failed (exit {out.returncode}):\n{out.stderr[-2000:]}")
    (result,) = (workdir / sweep.stem).glob("*/result.json")
    r = json.loads(result.read_text())
    return {"process_s": process_s, "epochs": r["epochs"], "valid_auc": r["valid"]["auc"]}


ROWS = (  # label, key/function of a result, format
    ("train examples/s", lambda r: r["examples_per_s"], "{:,.0f}"),
    ("wall per epoch (s)", lambda r: steady(r["epoch_wall_s"]), "{:.2f}"),
    ("first epoch wall (s)", lambda r: r["epoch_wall_s"][0], "{:.2f}"),
    ("fit to result, in process (s)", lambda r: r["fit_s"], "{:.1f}"),
    ("epochs run", lambda r: r["epochs"], "{:.1f}"),
    ("best epoch", lambda r: r["best_epoch"], "{:.1f}"),
    ("best valid AUC", lambda r: r["valid_auc"], "{:.5f}"),
    ("best valid logloss", lambda r: r["valid_logloss"], "{:.5f}"),
    ("data prep/load (s)", lambda r: r["prep_s"], "{:.1f}"),
    ("parameters", lambda r: r["params"], "{:,.0f}"),
)  # fmt: skip


def table(peers: list[dict], ours: list[dict]) -> str:
    """Each row's mean over the runs of each tool, and the ratio resctr/FuxiCTR."""
    lines = [f"{'':22}{'FuxiCTR':>14}{'resctr':>14}{'resctr/FuxiCTR':>16}"]
    for label, get, fmt in ROWS:
        a = statistics.mean(get(r) for r in peers)
        b = statistics.mean(get(r) for r in ours)
        ratio = f"{b / a:.3f}" if a else "-"
        lines.append(f"{label:22}{fmt.format(a):>14}{fmt.format(b):>14}{ratio:>16}")
    return "\n".join(lines)


def process_table(peers: list[dict], process: dict[str, list[dict]], variant: str) -> str:
    """Launch to early-stopped result on disk, each tool as a fresh process, mean over seeds."""
    cols = {"FuxiCTR": peers} | {f"resctr {state}": runs for state, runs in process.items()}
    peer_s = statistics.mean(r["process_s"] for r in peers)
    lines = [
        f"\n== time to result from a fresh process (resctr {variant}; cold/warm: XLA compile "
        "cache empty/filled) ==",
        f"{'':<26}" + "".join(f"{name:>15}" for name in cols),
    ]
    for label, key in (("process wall (s)", "process_s"), ("epochs run", "epochs")):
        means = [statistics.mean(r[key] for r in runs) for runs in cols.values()]
        lines.append(f"{label:<26}" + "".join(f"{m:>15.1f}" for m in means))
    ratios = [statistics.mean(r["process_s"] for r in runs) / peer_s for runs in cols.values()]
    lines.append(f"{'wall / FuxiCTR':<26}" + "".join(f"{q:>15.2f}" for q in ratios))
    return "\n".join(lines)


def curve_means(runs: list[dict], key: str) -> list[tuple[float, int]]:
    """Per epoch: (mean of `key` over the runs that reached it, how many did)."""
    n = max(len(r[key]) for r in runs)
    cols = [[r[key][e] for r in runs if len(r[key]) > e] for e in range(n)]
    return [(statistics.mean(c), len(c)) for c in cols]


def curves_table(groups: dict[str, list[dict]]) -> str:
    lines = []
    for key, fmt in (("valid_auc_per_epoch", "{:.4f}"), ("valid_logloss_per_epoch", "{:.4f}")):
        means = {name: curve_means(runs, key) for name, runs in groups.items()}
        lines.append(f"{key} (mean over seeds; n = runs that reached the epoch)")
        lines.append("epoch" + "".join(f"{name:>22}" for name in groups))
        for e in range(max(len(m) for m in means.values())):
            cells = [
                f"{fmt.format(m[e][0])} (n={m[e][1]})" if e < len(m) else "-"
                for m in means.values()
            ]
            lines.append(f"{e + 1:>5}" + "".join(f"{c:>22}" for c in cells))
    return "\n".join(lines)


def paired(peers: list[dict], ours: list[dict]) -> str:
    """Best-state valid AUC and logloss: per seed, mean +- std, and the paired t of the
    difference resctr - FuxiCTR over seeds."""
    from scipy import stats

    lines = []
    # the peer's logloss is computed on clipped float32 probabilities: compare it with resctr's
    # computed the same way (peer_style_logloss), and show resctr's exact one too
    for key, ours_key in (
        ("valid_auc", "valid_auc"),
        ("valid_logloss", "valid_logloss_peer_style"),
        ("valid_logloss", "valid_logloss"),
    ):
        a = [r[key] for r in peers]
        b = [r[ours_key] for r in ours]
        diff = [y - x for x, y in zip(a, b, strict=True)]
        line = (
            f"{ours_key}: FuxiCTR {' / '.join(f'{x:.5f}' for x in a)} "
            f"(mean {statistics.mean(a):.5f} +- {_std(a):.5f}); resctr "
            f"{' / '.join(f'{x:.5f}' for x in b)} (mean {statistics.mean(b):.5f} +- {_std(b):.5f})"
            f"; resctr - FuxiCTR {statistics.mean(diff):+.5f}"
        )
        if len(a) > 1:
            t = stats.ttest_rel(b, a)
            line += f", paired t {t.statistic:+.2f} (df {len(a) - 1}, p {t.pvalue:.3f})"
        lines.append(line)
    return "\n".join(lines)


def _std(xs: list[float]) -> float:
    return statistics.stdev(xs) if len(xs) > 1 else 0.0


def figure(groups: dict[str, list[dict]], title: str, path: pathlib.Path) -> None:
    """Every run's valid AUC and logloss per epoch; one colour per tool."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    colors = ("tab:orange", "tab:blue", "tab:gray")
    for (name, runs), color in zip(groups.items(), colors, strict=False):
        for i, r in enumerate(runs):
            for ax, key in zip(
                axes, ("valid_auc_per_epoch", "valid_logloss_per_epoch"), strict=True
            ):
                ys = r[key]
                label = name if i == 0 else None
                ax.plot(range(1, len(ys) + 1), ys, color=color, alpha=0.8, marker=".",
                        label=label)  # fmt: skip
    later = lambda key: [y for rs in groups.values() for r in rs for y in r[key][1:]]  # noqa: E731
    auc, ll = later("valid_auc_per_epoch"), later("valid_logloss_per_epoch")
    if auc:  # epoch 1 is far off; scale the axes to the later epochs
        axes[0].set_ylim(min(auc) - 0.002, max(auc) + 0.002)
        axes[1].set_ylim(min(ll) - 0.005, max(ll) + 0.005)
    axes[0].set(xlabel="epoch", ylabel="valid AUC")
    axes[1].set(xlabel="epoch", ylabel="valid logloss")
    axes[0].legend()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description="resctr vs FuxiCTR: a BARS model on Frappe_x1")
    p.add_argument("--data", type=pathlib.Path, default=FRAPPE, help="BARS Frappe_x1 folder")
    p.add_argument("--model", choices=MODELS, default="deepfm")
    p.add_argument("--seeds", default="2021,190034,992817", help="comma-separated, both tools")
    p.add_argument("--max-epochs", type=int, default=None, help="default: the model's BARS cap")
    p.add_argument(
        "--resctr", default="parity", help="comma-separated: parity (bars_run), plain (before)"
    )
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--threads", type=int, default=2, help="torch threads of the peer")
    p.add_argument(
        "--peer-python", type=pathlib.Path, default=pathlib.Path(".venv-peer/bin/python")
    )
    p.add_argument(
        "--fuxictr-src", type=pathlib.Path, help="FuxiCTR v2.3.9 source tree (its model_zoo)"
    )
    p.add_argument(
        "--process", default="cold,warm",
        help="also time `resctr run` of each seed as a fresh process with an empty (cold) and "
        "then a filled (warm) compile cache; '' skips it",
    )  # fmt: skip
    p.add_argument("--json", type=pathlib.Path, help="also write every result here")
    p.add_argument("--figure", type=pathlib.Path, help="PNG of every run's valid curves")
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    variants = args.resctr.split(",")
    states = [c for c in args.process.split(",") if c]
    if set(states) - {"cold", "warm"} or (states and states[0] != "cold"):
        raise SystemExit(f"--process {args.process!r}: 'cold', 'cold,warm' or ''")
    if set(variants) - {"parity", "plain"}:
        raise SystemExit(f"--resctr {args.resctr!r}: choose from parity, plain")
    if not args.peer_python.exists():
        raise SystemExit(f"no peer python at {args.peer_python}; create it with:\n  {SETUP_PEER}")
    if args.model != "deepfm" and args.fuxictr_src is None:
        raise SystemExit(f"--model {args.model} needs --fuxictr-src (FuxiCTR's model_zoo)")
    if args.device == "cpu" and args.threads != os.cpu_count():
        print(f"note: XLA uses all {os.cpu_count()} cores; the peer uses {args.threads} threads")
    cfgs = {
        (v, s): resctr_config(args.model, s, v, args.max_epochs) for v in variants for s in seeds
    }
    groups: dict[str, list[dict]] = {"FuxiCTR": []} | {f"resctr {v}": [] for v in variants}
    process: dict[str, list[dict]] = {state: [] for state in states}
    load = {"start": os.getloadavg()[0]}

    def save():
        if args.json:
            out = {"runs": groups, "process": process, "load": load}
            args.json.write_text(json.dumps(out, indent=1))

    with tempfile.TemporaryDirectory(prefix="resctr-peer-") as tmp:
        scratch = pathlib.Path(tmp)
        csvs = {s: plain_csv(args.data, s, scratch) for s in ("train", "valid")}
        for s in seeds:  # the peer's options come from resctr's config (same for variants)
            groups["FuxiCTR"].append(run_peer(args, scratch, csvs, cfgs[variants[0], s], s))
            print(f"FuxiCTR seed {s}: {groups['FuxiCTR'][-1]['valid_auc']:.5f}", flush=True)
            save()
        load["after_peer"] = os.getloadavg()[0]
        for v in variants:
            for s in seeds:
                groups[f"resctr {v}"].append(run_resctr(args, scratch, cfgs[v, s]))
                print(f"resctr {v} seed {s}: {groups[f'resctr {v}'][-1]['valid_auc']:.5f}")
                save()
        for s in seeds:  # cold: a compile cache of its own, empty; warm: the same, filled
            for state in states:
                cache = scratch / f"xla-cache-{s}"
                r = run_resctr_process(args, scratch, cfgs[variants[0], s], cache)
                process[state].append(r)
                print(f"resctr process, {state} cache, seed {s}: {r['process_s']:.1f} s")
                save()
        load["end"] = os.getloadavg()[0]
    save()
    peer = groups["FuxiCTR"][0]
    ours = next(r for name, rs in groups.items() if name != "FuxiCTR" for r in rs)
    title = (
        f"BARS {args.model} on Frappe_x1 ({args.data.name}), seeds {args.seeds}, "
        f"device {args.device}: {peer['tool']} vs {ours['tool']}"
    )
    print(f"\n{title}")
    print(f"  FuxiCTR: {peer['device']}, {peer['threads']} threads")
    print(f"  resctr:  {ours['device']}, {ours['threads']} cores")
    print("  1-min load average start / after peer / end: " + " / ".join(
        f"{v:.1f}" for v in load.values()))  # fmt: skip
    for v in variants:
        print(f"\n== resctr {v} ==")
        print(table(groups["FuxiCTR"], groups[f"resctr {v}"]))
        print(paired(groups["FuxiCTR"], groups[f"resctr {v}"]))
    if states:
        print(process_table(groups["FuxiCTR"], process, variants[0]))
    print()
    print(curves_table(groups))
    if args.figure:
        figure(groups, title, args.figure)
        print(f"figure: {args.figure}")


if __name__ == "__main__":
    sys.exit(main())
