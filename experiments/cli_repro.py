"""`resctr repro ...`: the classic motivating plots.

resctr repro relu [--out DIR] [--tiny] [--trials N] [--seed S]
    MobileNetV2 Fig. 1 (ReLU information loss) plus error/collapse curves versus n.
"""

from __future__ import annotations

import argparse


def register(sub) -> None:
    repro = sub.add_parser("repro", help="reproduce the motivating plots (ReLU information loss)")
    which = repro.add_subparsers(dest="repro", required=True, metavar="PLOT")
    relu = which.add_parser("relu", help="spiral through ReLU(Tx) and back (MobileNetV2 Fig. 1)")
    relu.add_argument("--out", default="runs/repro/relu", help="output folder (PNG, CSV, JSON)")
    relu.add_argument("--tiny", action="store_true", help="10 trials, 200 points (a smoke run)")
    relu.add_argument("--trials", type=int, default=None, help="random T per n (default 100)")
    relu.add_argument("--seed", type=int, default=0)
    relu.set_defaults(func=_relu)


def _relu(args: argparse.Namespace) -> int:
    from experiments.repro import relu

    trials = args.trials or (10 if args.tiny else 100)
    if trials < 1:
        raise SystemExit("--trials must be >= 1")
    rows = relu.run(args.out, trials=trials, seed=args.seed, num_points=200 if args.tiny else 600)
    print(f"{'form':9} {'n':>3} {'metric':18} {'mean':>10} {'std':>10}")
    for r in rows:
        print(f"{r['form']:9} {r['n']:>3} {r['metric']:18} {r['mean']:>10.4g} {r['std']:>10.4g}")
    print(f"wrote {args.out}/relu_metrics.{{csv,json}}, relu_spiral_{{plain,residual}}.png, "
          "relu_curves.png")  # fmt: skip
    return 0
