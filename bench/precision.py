"""Mixed precision: bf16 compute vs f32 for BARS DeepFM on Frappe_x1, side by side in one run.

Mixed precision (Micikevicius et al. 2018) as `train.compute_dtype="bfloat16"`: the forward and
backward passes run on bf16 casts of the f32 master params, the loss, optimizer state and
BatchNorm statistics stay f32. The model is bench/peer.py's (Guo et al. 2017: y = LR + FM +
MLP, emb 10, tower 400-400-400 ReLU, dropout 0.2, BatchNorm, batch 4096, Adam 1e-3, embedding
L2 0.05) under the BARS protocol, trained by experiments.protocol.train_runs (the runner's own
early-stopped path) with `--seeds` seeds vmapped as one program, once per dtype. Printed:

  train examples/s  = seeds x train rows / median train-only epoch time (epoch 1 excluded)
  wall per epoch    = median epoch wall time, train + validation + checkpoints (epoch 1 excl.)
  epochs            = epochs the vmapped group ran (its longest seed) and the mean per seed
  best valid AUC / logloss of each seed's kept state, mean ± std over seeds

and bf16 − f32 of each (bf16 / f32 for the times). Quick check: `--max-epochs 1 --seeds 1`.
Usage: uv run python bench/precision.py [--data DIR] [--seeds N] [--max-epochs N]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import sys
import tempfile
import time

import numpy as np
from peer import FRAPPE, steady, timed_epochs  # bench/ is on sys.path when this script runs


def run(dtype: str, args, spec, splits, scratch: pathlib.Path) -> dict:

    from experiments import protocol, sweeps
    from experiments.rundir import RunDir

    def bars_deepfm(seed: int):
        cfg = sweeps.bars_run("deepfm", "none", seed, sweep="precision", max_epochs=args.max_epochs)
        return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, compute_dtype=dtype))

    cfgs = [bars_deepfm(seed) for seed in range(args.seeds)]
    prots: dict[int, protocol.Protocol] = {}
    dirs = [RunDir(scratch / dtype / c.run_id) for c in cfgs]
    for c, d in zip(cfgs, dirs, strict=True):
        d.start(c.to_json())
    marks: list[float] = []
    with timed_epochs() as train_s:
        t0 = time.perf_counter()
        protocol.train_runs(
            cfgs,
            dirs,
            spec,
            splits,
            finish=lambda cfg, rd, prot, test, params: prots.update({cfg.seed: prot}),
            on_epoch=lambda e: marks.append(time.perf_counter()),
        )
    for d in dirs:
        d.close()
    walls = [b - a for a, b in zip([t0, *marks], marks, strict=False)]
    ps = [prots[c.seed] for c in cfgs]
    n_train = len(splits["train"][spec.label])
    return {
        "examples_per_s": args.seeds * n_train / steady(train_s),
        "epoch_wall_s": steady(walls),
        "first_epoch_s": walls[0],
        "epochs": len(walls),
        "epochs_mean": float(np.mean([p.epoch for p in ps])),
        "auc": np.array([p.best_valid["auc"] for p in ps]),
        "logloss": np.array([p.best_valid["logloss"] for p in ps]),
        "fit_s": marks[-1] - t0,
    }


def cell(x, fmt: str) -> str:
    """A number, or mean ± std of per-seed values."""
    if isinstance(x, np.ndarray):
        return f"{fmt.format(x.mean())} ± {fmt.format(x.std())}"
    return fmt.format(x)


ROWS = (  # label, value, format, how bf16 compares: "diff" (bf16 - f32) or "ratio" (bf16 / f32)
    ("train examples/s", lambda r: r["examples_per_s"], "{:,.0f}", "ratio"),
    ("wall per epoch (s)", lambda r: r["epoch_wall_s"], "{:.2f}", "ratio"),
    ("first epoch wall (s)", lambda r: r["first_epoch_s"], "{:.2f}", "ratio"),
    ("time to result (s)", lambda r: r["fit_s"], "{:.1f}", "ratio"),
    ("epochs (group)", lambda r: r["epochs"], "{}", "diff"),
    ("epochs (mean/seed)", lambda r: r["epochs_mean"], "{:.1f}", "diff"),
    ("best valid AUC", lambda r: r["auc"], "{:.5f}", "diff"),
    ("best valid logloss", lambda r: r["logloss"], "{:.5f}", "diff"),
)  # fmt: skip


def table(f32: dict, bf16: dict) -> str:
    lines = [f"{'':22}{'float32':>22}{'bfloat16':>22}{'bf16 vs f32':>16}"]
    for label, get, fmt, how in ROWS:
        a, b = get(f32), get(bf16)
        if how == "ratio":
            cmp = f"x{b / a:.3f}"
        else:  # difference of the means
            d = np.mean(b) - np.mean(a)
            cmp = f"{d:+.5f}" if isinstance(a, np.ndarray) else f"{d:+.1f}"
        lines.append(f"{label:22}{cell(a, fmt):>22}{cell(b, fmt):>22}{cmp:>16}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description="bf16 mixed precision vs f32: DeepFM on Frappe_x1")
    p.add_argument("--data", type=pathlib.Path, default=FRAPPE, help="BARS Frappe_x1 folder")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1, vmapped")
    p.add_argument("--max-epochs", type=int, default=100, help="1 for a quick check")
    p.add_argument("--device", choices=("cpu", "cuda"), help="default: JAX's default backend")
    args = p.parse_args()
    if args.device:  # JAX reads JAX_PLATFORMS at import
        os.environ["JAX_PLATFORMS"] = args.device
    import jax

    import ctr.datasets
    from experiments import runner

    print(f"jax {jax.__version__}, device {runner.environment()['device']}")
    t = time.perf_counter()
    spec, splits = ctr.datasets.load("frappe", manual_dir=args.data)
    n = len(splits["train"][spec.label])
    print(f"Frappe_x1: {n:,} train rows, data prep/load {time.perf_counter() - t:.1f} s")
    results = {}
    with tempfile.TemporaryDirectory(prefix="resctr-precision-") as tmp:
        for dtype in ("float32", "bfloat16"):
            results[dtype] = run(dtype, args, spec, splits, pathlib.Path(tmp))
            print(f"  {dtype} done in {results[dtype]['fit_s']:.1f} s", flush=True)
    print(f"\nBARS DeepFM on Frappe_x1, {args.seeds} seed(s) vmapped, max {args.max_epochs} epochs")
    print(table(results["float32"], results["bfloat16"]))


if __name__ == "__main__":
    sys.exit(main())
