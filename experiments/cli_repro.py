"""`resctr repro ...`: the classic motivating plots.

resctr repro relu [--out DIR] [--tiny] [--trials N] [--seed S]
    MobileNetV2 Fig. 1 (ReLU information loss) plus error/collapse curves versus n.
resctr repro degradation [--setting he2016|no_bn|zero_gamma] [--tiny] [--data synthetic|frappe]
                         [--manual-dir DIR] [--workdir DIR] [--depths D ...] [--families F ...]
                         [--collect-only]
    ResNet Fig. 1 (degradation): train/valid loss of plain vs residual towers against steps and
    depth, and per-layer gradient norms (experiments/repro/degradation.py).
"""

from __future__ import annotations

import argparse


def register(sub) -> None:
    repro = sub.add_parser(
        "repro", help="reproduce the motivating plots (ReLU information loss, degradation)"
    )
    which = repro.add_subparsers(dest="repro", required=True, metavar="PLOT")
    relu = which.add_parser("relu", help="spiral through ReLU(Tx) and back (MobileNetV2 Fig. 1)")
    relu.add_argument("--out", default="runs/repro/relu", help="output folder (PNG, CSV, JSON)")
    relu.add_argument("--tiny", action="store_true", help="10 trials, 200 points (a smoke run)")
    relu.add_argument("--trials", type=int, default=None, help="random T per n (default 100)")
    relu.add_argument("--seed", type=int, default=0)
    relu.set_defaults(func=_relu)
    deg = which.add_parser("degradation", help="plain vs residual towers by depth (ResNet Fig. 1)")
    deg.add_argument(
        "--setting", default="he2016",
        help="he2016 (BatchNorm, ReLU after the merge as ResNet v1), no_bn (no normalization) or "
        "zero_gamma (he2016 with every block's BN scale starting at 0; a diagnostic)",
    )  # fmt: skip
    deg.add_argument("--tiny", action="store_true", help="depths 2, 8, 32 on small synthetic data")
    deg.add_argument("--data", choices=("synthetic", "frappe"), default="synthetic")
    deg.add_argument("--manual-dir", help="raw Frappe files (when it is not prepared yet)")
    deg.add_argument("--data-dir", help="prepared-data cache (default: ctr.datasets')")
    deg.add_argument("--workdir", default="runs/repro/degradation", help="runs, PNG, CSV, JSON")
    deg.add_argument("--depths", type=int, nargs="+", help="tower depths (default 2 ... 56)")
    deg.add_argument(
        "--families",
        nargs="+",
        help="residual families (default: the six; zero_gamma: the five residual ones)",
    )
    deg.add_argument(
        "--collect-only", action="store_true",
        help="train nothing: summarize the finished runs and name the missing ones",
    )  # fmt: skip
    deg.set_defaults(func=_degradation)


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


def _degradation(args: argparse.Namespace) -> int:
    import resnets
    from experiments.repro import degradation

    if args.setting not in degradation.SETTINGS:
        raise SystemExit(f"--setting {args.setting!r}: choose from {sorted(degradation.SETTINGS)}")
    if args.depths and min(args.depths) < 1:
        raise SystemExit("--depths must be >= 1")
    unknown = sorted(set(args.families or ()) - set(resnets.CONNECTIONS))
    if unknown:
        raise SystemExit(f"--families {unknown}: choose from {sorted(resnets.CONNECTIONS)}")
    blob = degradation.run(
        args.workdir, setting=args.setting, tiny=args.tiny, data=args.data, depths=args.depths,
        families=args.families, data_dir=args.data_dir,
        manual_dir=args.manual_dir, collect_only=args.collect_only,
    )  # fmt: skip
    print(f"{'family':9} {'depth':>5} {'train_loss':>10} {'final_train':>11} {'valid_auc':>9}")
    for r in blob["depth"]:
        print(f"{r['family']:9} {r['depth']:>5} {r['train_loss']:>10.4f} "
              f"{r['final_train_loss']:>11.4f} {r['best_valid_auc']:>9.4f}")  # fmt: skip
    for m in blob["settings"]["missing"]:
        print(f"missing (not trained): {m['family']} depth {m['depth']} seed {m['seed']}")
    stem = f"{args.workdir}/{degradation.prefix(args.setting)}"
    print(f"wrote {stem}.json, {stem}_{{epochs,layers,depth}}.csv, "
          f"{stem}_{{curves,depth,grad_norms}}.png")  # fmt: skip
    return 0
