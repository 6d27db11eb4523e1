"""Wall time of a whole ablation grid on one device: seeds vmapped vs one run at a time.

The runner groups runs that differ only in their seed and trains each group as one vmapped
program (`experiments.runner.run_sweep`). "sequential" runs the same configs one per call, as a
plain loop over the grid would: every run traces, compiles (or reads XLA's persistent cache,
which the CLI enables as here) and trains on its own. Both go through the
runner's real path (early stopping, checkpoints, result.json), into scratch folders.

Prints per mode: runs, groups, epochs trained, wall time, runs/minute, and the ratio to the
vmapped mode. The cost of N vmapped seeds relative to one, per epoch of training alone, is
bench/train.py's `--seeds 1,5`.

    uv run python bench/grid.py                                   # families_frappe, both modes
    uv run python bench/grid.py --modes vmapped --json grid.json  # just the grid's GPU time
    uv run python bench/grid.py --only 'dnn-(none|identity)' --max-epochs 2   # quick look
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import tempfile
import time

import jax

from experiments.cli_run import enable_compile_cache
from experiments.runner import environment, run_sweep, select
from experiments.sweeps import SWEEPS

FRAPPE = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "frappe" / "frappe_x1"


def capped(configs, max_epochs: int | None):
    if not max_epochs:
        return configs
    return [
        dataclasses.replace(c, train=dataclasses.replace(c.train, max_epochs=max_epochs))
        for c in configs
    ]


def run_mode(mode: str, configs, root: pathlib.Path, args) -> dict:
    kw = dict(data_dir=args.data_dir, manual_dir=args.data, progress=False)
    t0 = time.perf_counter()
    if mode == "vmapped":
        results = run_sweep(configs, root / mode, **kw)
    else:  # one call per run: nothing is shared between seeds but the loaded data set
        results = [r for c in configs for r in run_sweep([c], root / mode, **kw)]
    wall = time.perf_counter() - t0
    return {
        "mode": mode,
        "runs": len(results),
        "groups": len({c.seedless_key() for c in configs}) if mode == "vmapped" else len(configs),
        "epochs": sum(r["epochs"] for r in results),
        "wall_s": wall,
        "valid_auc": {r["run_id"]: r["valid"]["auc"] for r in results},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sweep", default="families_frappe", choices=sorted(SWEEPS))
    p.add_argument("--only", help="regex on run ids (a part of the grid)")
    p.add_argument("--modes", default="vmapped,sequential", help="comma list")
    p.add_argument("--max-epochs", type=int, help="cap every run (default: the sweep's own)")
    p.add_argument("--data", type=pathlib.Path, default=FRAPPE, help="raw files (manual dir)")
    p.add_argument("--data-dir", help="prepared-data cache (default: ctr.datasets')")
    p.add_argument("--workdir", type=pathlib.Path, help="keep the runs here (default: a temp dir)")
    p.add_argument("--json", type=pathlib.Path, help="also write the results here")
    args = p.parse_args()
    enable_compile_cache()
    configs = capped(select(SWEEPS[args.sweep](), args.only, (0, 1)), args.max_epochs)
    if not configs:
        raise SystemExit(f"no run of {args.sweep} matches --only {args.only!r}")
    with tempfile.TemporaryDirectory(prefix="resctr-grid-") as tmp:
        root = args.workdir or pathlib.Path(tmp)
        rows = [run_mode(m, configs, root, args) for m in args.modes.split(",")]
    env = environment()
    cap = f"max {args.max_epochs} epochs" if args.max_epochs else "the sweep's own epochs"
    print(f"\n{args.sweep}: {len(configs)} runs, {cap}, {env['device']}, jax {jax.__version__}")
    print(f"{'mode':<12}{'runs':>6}{'programs':>10}{'epochs':>8}{'wall s':>10}{'runs/min':>10}"
          f"{'x vmapped':>11}")  # fmt: skip
    base = rows[0]["wall_s"]
    for r in rows:
        print(f"{r['mode']:<12}{r['runs']:>6}{r['groups']:>10}{r['epochs']:>8}"
              f"{r['wall_s']:>10.1f}{60 * r['runs'] / r['wall_s']:>10.1f}"
              f"{r['wall_s'] / base:>11.2f}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"env": env, "sweep": args.sweep, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
