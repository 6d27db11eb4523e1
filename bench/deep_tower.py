"""Deep residual towers with BatchNorm on XLA's CPU backend: the training step as resctr runs it
(every layer's state stored, resnets.stack.stored_on_cpu), without that, and with XLA's
instruction fusion off, side by side, per family and depth.

Why: the degradation tower with identity shortcuts, h_{k+1} = ReLU(h_k + BN(W_k h_k + b_k)),
compiles to a step whose cost grows with depth squared on the CPU when nothing stops it. The
fusion pass duplicates the cheap elementwise chain h_1 -> h_2 -> ... into every consumer of
every h_k (each fused kernel recomputes the stream from the tower input), so no h_k is stored.
The plain tower has no such chain (h_{k+1} depends only on W_k h_k). resctr divides every state
by isfinite(state), an exact identity the pass does not duplicate; the other two columns are the
step without it ("duplicated") and with the pass off (XLA_FLAGS=--xla_disable_hlo_passes=fusion,
one process each, since XLA reads its flags once). `optimization_barrier` does not help: the
CPU pipeline removes barriers before fusion.

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


MODES = ("stored", "duplicated", "unfused")


def child(family: str, depth: int, steps: int, mode: str) -> None:
    import ctr.datasets
    import resnets.stack
    from bench.models import measure
    from experiments.repro.degradation import configs

    if mode == "duplicated":  # the step as XLA fuses it when nothing stores the states
        resnets.stack.stored_on_cpu = lambda: None

    cfg = next(c for c in configs(depths=[depth], families=[family]) if c.seed == 0)
    spec, splits = ctr.datasets.load(cfg.data.name, **cfg.data.options)
    print(json.dumps(measure(cfg, spec, splits, steps)))


def cell(family: str, depth: int, steps: int, mode: str) -> dict:
    env = dict(os.environ)
    flags = [env.get("XLA_FLAGS", ""), NO_FUSION if mode == "unfused" else ""]
    env["XLA_FLAGS"] = " ".join(flags).strip()
    out = subprocess.run(
        [sys.executable, "-m", "bench.deep_tower", "--child", family, str(depth), str(steps),
         mode],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--depths", default="16,56")
    ap.add_argument("--families", default="none,identity")
    ap.add_argument("--steps", type=int, default=5, help="batches per timed epoch program")
    ap.add_argument("--child", nargs=4, metavar=("FAMILY", "DEPTH", "STEPS", "MODE"),
                    help=argparse.SUPPRESS)  # fmt: skip
    args = ap.parse_args()
    if args.child:
        family, depth, steps, mode = args.child
        return child(family, int(depth), int(steps), mode)
    print(f"{'family':<10}{'depth':>6}" + "".join(f"{m + ' ms/step':>20}" for m in MODES)
          + f"{'duplicated/stored':>19}{'compile s (same order)':>26}")  # fmt: skip
    for family in args.families.split(","):
        for depth in map(int, args.depths.split(",")):
            ms, setup = {}, []
            for mode in MODES:
                r = cell(family, depth, args.steps, mode)
                ms[mode] = r["ms_per_step"]
                setup.append(f"{r['setup_s']:.1f}")
            print(f"{family:<10}{depth:>6}" + "".join(f"{ms[m]:>20.1f}" for m in MODES)
                  + f"{ms['duplicated'] / ms['stored']:>19.2f}{' / '.join(setup):>26}",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
