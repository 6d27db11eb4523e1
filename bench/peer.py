"""resctr vs FuxiCTR (the BARS peer), side by side in one run on one device.

Both train BARS DeepFM (Guo et al. 2017: y = LR + FM + MLP, emb 10, tower 400-400-400 ReLU,
dropout 0.2, BatchNorm, batch 4096) on Frappe_x1 under the BARS protocol: Adam 1e-3, embedding
L2 0.05 (lambda/2 ||E||^2 per batch), lr x0.1 after a non-improving epoch, stop after 2, monitor
valid AUC, keep the best state. The peer runs first, as a subprocess in its own environment
(bench/peer_fuxictr.py, one JSON line back); resctr then runs in this process through
experiments.protocol.train_runs, the runner's own training path. Printed per tool:

  train examples/s    = train rows / median train-only epoch time (epoch 1 excluded: compile)
  wall per epoch      = median epoch wall time, train + validation + checkpoint (epoch 1 excl.)
  time to result      = start of training to the early-stopped best state, everything included
  best valid AUC/logloss of the kept state, epochs run (best epoch)

and the ratio resctr/FuxiCTR of each. Quick timing: `--max-epochs 2`.
Usage: uv run python bench/peer.py [--max-epochs N] [--device cpu|cuda] [--threads N]
"""

from __future__ import annotations

import argparse
import contextlib
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


def run_peer(args, scratch: pathlib.Path) -> dict:
    cmd = [
        str(args.peer_python),
        str(HERE / "peer_fuxictr.py"),
        "--train", str(plain_csv(args.data, "train", scratch)),
        "--valid", str(plain_csv(args.data, "valid", scratch)),
        "--workdir", str(scratch / "fuxictr"),
        "--max-epochs", str(args.max_epochs),
        "--threads", str(args.threads),
        "--device", args.device,
    ]  # fmt: skip
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"peer failed (exit {out.returncode}): {' '.join(cmd)}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_resctr(args, scratch: pathlib.Path) -> dict:
    # JAX reads JAX_PLATFORMS at import: pick the device before the first jax import.
    os.environ["JAX_PLATFORMS"] = args.device
    import jax

    import ctr.datasets
    from experiments import protocol, runner, sweeps, train
    from experiments.rundir import RunDir

    t0 = time.perf_counter()
    spec, splits = ctr.datasets.load("frappe", manual_dir=args.data)
    prep_s = time.perf_counter() - t0
    cfg = sweeps.bars_run("deepfm", "none", args.seed, sweep="peer", max_epochs=args.max_epochs)
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
    rd.close()
    prot = done["prot"]
    walls = [b - a for a, b in zip([t1, *marks], marks, strict=False)]
    n_train = len(splits["train"][spec.label])
    return {
        "tool": f"resctr / jax {jax.__version__}",
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
        "valid_auc_per_epoch": [r["valid_auc"] for r in rd.read_metrics()],
    }


ROWS = (  # label, key/function of a result, format
    ("train examples/s", lambda r: r["examples_per_s"], "{:,.0f}"),
    ("wall per epoch (s)", lambda r: steady(r["epoch_wall_s"]), "{:.2f}"),
    ("first epoch wall (s)", lambda r: r["epoch_wall_s"][0], "{:.2f}"),
    ("time to result (s)", lambda r: r["fit_s"], "{:.1f}"),
    ("epochs run", lambda r: r["epochs"], "{}"),
    ("best epoch", lambda r: r["best_epoch"], "{}"),
    ("best valid AUC", lambda r: r["valid_auc"], "{:.5f}"),
    ("best valid logloss", lambda r: r["valid_logloss"], "{:.5f}"),
    ("data prep/load (s)", lambda r: r["prep_s"], "{:.1f}"),
    ("parameters", lambda r: r["params"], "{:,}"),
)  # fmt: skip


def table(peer: dict, ours: dict) -> str:
    lines = [f"{'':22}{'FuxiCTR':>14}{'resctr':>14}{'resctr/FuxiCTR':>16}"]
    for label, get, fmt in ROWS:
        a, b = get(peer), get(ours)
        ratio = f"{b / a:.3f}" if a else "-"
        lines.append(f"{label:22}{fmt.format(a):>14}{fmt.format(b):>14}{ratio:>16}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description="resctr vs FuxiCTR: BARS DeepFM on Frappe_x1")
    p.add_argument("--data", type=pathlib.Path, default=FRAPPE, help="BARS Frappe_x1 folder")
    p.add_argument("--max-epochs", type=int, default=100, help="2 for a quick timing-only run")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--threads", type=int, default=2, help="torch threads of the peer")
    p.add_argument(
        "--peer-python", type=pathlib.Path, default=pathlib.Path(".venv-peer/bin/python")
    )
    p.add_argument("--seed", type=int, default=0, help="resctr seed (the peer uses BARS's 2021)")
    p.add_argument("--json", type=pathlib.Path, help="also write both results here")
    args = p.parse_args()
    if not args.peer_python.exists():
        raise SystemExit(f"no peer python at {args.peer_python}; create it with:\n  {SETUP_PEER}")
    if args.device == "cpu" and args.threads != os.cpu_count():
        print(f"note: XLA uses all {os.cpu_count()} cores; the peer uses {args.threads} threads")
    with tempfile.TemporaryDirectory(prefix="resctr-peer-") as tmp:
        scratch = pathlib.Path(tmp)
        load = {"before_peer": os.getloadavg()[0]}
        peer = run_peer(args, scratch)
        load["before_resctr"] = os.getloadavg()[0]
        ours = run_resctr(args, scratch)
        load["after"] = os.getloadavg()[0]
    print(f"\nBARS DeepFM on Frappe_x1, max {args.max_epochs} epochs, device {args.device}")
    print(f"  FuxiCTR: {peer['tool']} on {peer['device']}, {peer['threads']} threads")
    print(f"  resctr:  {ours['tool']} on {ours['device']}, {ours['threads']} cores")
    print("  1-min load average before peer / before resctr / after: " + " / ".join(
        f"{v:.1f}" for v in load.values()))  # fmt: skip
    print(table(peer, ours))
    if args.json:
        args.json.write_text(json.dumps({"fuxictr": peer, "resctr": ours, "load": load}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
