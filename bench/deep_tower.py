"""Deep residual towers with BatchNorm on XLA's CPU backend: the training step with XLA's
instruction fusion on (the default) and off, side by side, per family and depth.

Why: the degradation tower with identity shortcuts, h_{k+1} = ReLU(h_k + BN(W_k h_k + b_k)),
compiles to a step whose cost grows with depth squared on the CPU. The fusion pass duplicates
the cheap elementwise chain h_1 -> h_2 -> ... into every consumer of every h_k (each fused kernel
recomputes the stream from the tower input), so no h_k is ever stored. The plain tower has no
such chain (h_{k+1} depends only on W_k h_k). Turning the pass off (XLA_FLAGS=
--xla_disable_hlo_passes=fusion, one process each, since XLA reads its flags once) stores every
h_k again. `optimization_barrier` does not help: the CPU pipeline removes barriers before fusion.

Each cell: the degradation tower of `resctr repro degradation` (he2016 setting, width 64, batch
1024, one seed), one epoch program of --steps batches (bench/models.py `measure`), compile
excluded from ms/step.

    uv run python bench/deep_tower.py [--depths 16,56] [--families none,identity] [--steps 5]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys

NO_FUSION = "--xla_disable_hlo_passes=fusion"
ROOT = pathlib.Path(__file__).resolve().parents[1]


def child(family: str, depth: int, steps: int) -> None:
    import ctr.datasets
    from bench.models import measure
    from experiments.repro.degradation import configs

    cfg = next(c for c in configs(depths=[depth], families=[family]) if c.seed == 0)
    spec, splits = ctr.datasets.load(cfg.data.name, **cfg.data.options)
    print(json.dumps(measure(cfg, spec, splits, steps)))


def cell(family: str, depth: int, steps: int, fusion: bool) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = " ".join([env.get("XLA_FLAGS", ""), "" if fusion else NO_FUSION]).strip()
    out = subprocess.run(
        [sys.executable, "-m", "bench.deep_tower", "--child", family, str(depth), str(steps)],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--depths", default="16,56")
    ap.add_argument("--families", default="none,identity")
    ap.add_argument("--steps", type=int, default=5, help="batches per timed epoch program")
    ap.add_argument("--child", nargs=3, metavar=("FAMILY", "DEPTH", "STEPS"),
                    help=argparse.SUPPRESS)  # fmt: skip
    args = ap.parse_args()
    if args.child:
        family, depth, steps = args.child
        return child(family, int(depth), int(steps))
    print(f"{'family':<10}{'depth':>6}{'fused ms/step':>15}{'unfused ms/step':>17}"
          f"{'fused/unfused':>15}{'compile s fused/unfused':>26}")  # fmt: skip
    for family in args.families.split(","):
        for depth in map(int, args.depths.split(",")):
            on, off = (cell(family, depth, args.steps, fusion) for fusion in (True, False))
            print(f"{family:<10}{depth:>6}{on['ms_per_step']:>15.1f}{off['ms_per_step']:>17.1f}"
                  f"{on['ms_per_step'] / off['ms_per_step']:>15.2f}"
                  f"{on['setup_s']:>14.1f} / {off['setup_s']:.1f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
