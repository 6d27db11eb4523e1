"""`resctr run | table | plot | report | demo`: train a sweep into run folders, then read them
back. A sweep is a built-in name (`--sweep NAME`) or a sweep file (`--config FILE.py`,
experiments/sweep_files.py); the two take the same options and land in WORKDIR/NAME."""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import time


def _shard(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)/(\d+)", text)
    if not m:
        raise argparse.ArgumentTypeError(f"--shard wants i/N (e.g. 0/4), got {text!r}")
    return int(m[1]), int(m[2])


def register(sub) -> None:
    run = sub.add_parser("run", help="train a sweep (resumes unfinished runs, skips finished)")
    add_sweep_arguments(run)
    run.add_argument("--dry-run", action="store_true", help="list the runs and exit")
    run.add_argument("--shard", type=_shard, default=(0, 1), help="i/N: this machine's part")
    run.add_argument("--distributed", action="store_true",
                     help="multi-host: jax.distributed.initialize(), then host i of N runs shard "
                     "i/N of the grid on its local devices")  # fmt: skip
    run.add_argument(
        "--checkpoint-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="save a run's state at most this often, and when it ends "
        "(default: experiments.protocol.CHECKPOINT_EVERY_S); 0: every epoch",
    )
    run.add_argument("--jobs", type=int, default=1, metavar="N",
                     help="train the sweep as N concurrent worker processes on this machine "
                     "(each its own shard: small models then keep one GPU busy)")  # fmt: skip
    run.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)  # a --jobs worker's
    run.add_argument("--no-progress", dest="progress", action="store_false",
                     help="no progress bar (for logs)")  # fmt: skip
    run.set_defaults(func=cmd_run)
    table = sub.add_parser("table", help="model x family table of a sweep's results")
    table.add_argument("--workdir", required=True, help="a sweep folder, e.g. runs/demo")
    table.add_argument("--reference", help="add published AUCs (experiments.reference), "
                       "e.g. bars_frappe; default: the sweep's own when there is one")  # fmt: skip
    table.add_argument("--metric", help="column to pivot, e.g. test_gauc (default: test_auc "
                       "when every run has it, else valid_auc)")  # fmt: skip
    table.add_argument("--baseline", help="the family each row is paired with (default: "
                       "the sweep's in experiments.sweeps.BASELINES, else identity)")  # fmt: skip
    table.set_defaults(func=cmd_table)
    plot = sub.add_parser("plot", help="learning curves, AUC vs depth, connection weights")
    plot.add_argument("--workdir", required=True, help="a sweep folder, e.g. runs/demo")
    plot.set_defaults(func=cmd_plot)
    report = sub.add_parser("report", help="one self-contained HTML page of a sweep: "
                            "hypothesis, table, curves, learned connections")  # fmt: skip
    report.add_argument("--workdir", required=True, help="a sweep folder, e.g. runs/demo")
    report.add_argument("--reference", help="as for table")
    report.add_argument("--metric", help="as for table")
    report.add_argument("--baseline", help="as for table")
    report.set_defaults(func=cmd_report)
    demo = sub.add_parser("demo", help="run the demo sweep on generated data: table, plots and "
                          "the results page")  # fmt: skip
    demo.add_argument("--workdir", default="runs")
    demo.add_argument("--data-dir")
    demo.set_defaults(func=cmd_demo)


def add_sweep_arguments(p) -> None:
    """What names a grid and its runs: shared by `resctr run` and `resctr launch`."""
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--sweep", help="a built-in sweep: a name in experiments.sweeps.SWEEPS")
    which.add_argument(
        "--config",
        metavar="FILE.py",
        help="a sweep file: any Python file defining sweep() -> list[RunConfig] (its docstring "
        "states the hypothesis); runs land in WORKDIR/FILE",
    )
    p.add_argument("--workdir", default="runs", help="runs land in WORKDIR/SWEEP/RUN_ID")
    p.add_argument("--data-dir", help="prepared-data cache (default: ctr.datasets')")
    p.add_argument("--manual-dir", help="raw files of a real data set")
    p.add_argument("--only", help="regex on run ids")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="dotted override for every run, e.g. train.lr=3e-4")  # fmt: skip


def load_grid(args):
    """(the Sweep, its configs with the --set overrides, its folder) of `resctr run` options."""
    from experiments import sweep_files
    from experiments.configs import apply_overrides

    try:
        sweep = sweep_files.load(args.sweep, args.config)
        configs = [apply_overrides(c, args.set) for c in sweep.configs(args.data_dir)]
    except ValueError as e:  # the message names the file, the run or the option, and the fix
        raise SystemExit(str(e)) from None
    return sweep, configs, pathlib.Path(args.workdir) / sweep.name


def enable_compile_cache() -> None:
    """Persistent XLA cache: a rerun (or resume) of a sweep, or the next run of the same model,
    skips its compile time. Every program is kept, however fast it compiled: a run compiles
    only a few (init, epoch, predict), and init's ~1 s at -O0 is a third of a cold start."""
    import jax

    cache = pathlib.Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "resctr"
    jax.config.update("jax_compilation_cache_dir", str(cache / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def unwritable(workdir: pathlib.Path, e: OSError) -> SystemExit:
    return SystemExit(
        f"cannot write {workdir}: {e}\nMake it writable (and free space on its disk), then "
        "rerun the same command: finished runs are kept, unfinished ones resume."
    )


def cmd_run(args) -> int:
    from experiments.rundir import RunDirError
    from experiments.runner import run_sweep, select

    sweep, configs, workdir = load_grid(args)
    if args.dry_run:
        for c in select(configs, args.only, args.shard):
            done = (workdir / c.run_id / "result.json").exists()
            print(f"{'done' if done else 'todo'}  {c.run_id}")
        return 0
    if getattr(args, "parent_pid", None) is not None:
        from experiments.jobs import exit_with_parent

        exit_with_parent(args.parent_pid)
    else:  # the parent records what the folder holds (workers run the same sweep)
        try:
            sweep.write_manifest(workdir)
        except RunDirError as e:
            raise unwritable(workdir, e) from e
    if args.jobs < 1:
        raise SystemExit(f"--jobs wants N >= 1, got {args.jobs}")
    if args.jobs > 1:
        if args.distributed:
            raise SystemExit("--jobs and --distributed do not combine: run one process per host")
        from experiments.jobs import run_jobs

        try:
            return run_jobs(args, select(configs, args.only, args.shard), workdir, args.jobs)
        except RunDirError as e:
            raise unwritable(workdir, e) from e
    enable_compile_cache()
    if getattr(args, "distributed", False):
        import jax

        # Cluster discovery (TPU pods, SLURM, Open MPI, env vars) is jax's own; each host owns
        # a disjoint shard of the grid, so hosts never write the same run folder.
        jax.distributed.initialize()
        args.shard = (jax.process_index(), jax.process_count())
    placement = None
    if any(c.train.data_parallel for c in configs):
        from experiments.parallel import DataParallel

        placement = DataParallel(shard_embeddings=configs[0].train.shard_embeddings)
    checkpointing = {}
    if args.checkpoint_every is not None:
        checkpointing["checkpoint_every_s"] = args.checkpoint_every
    t0 = time.perf_counter()
    try:
        results = run_sweep(
            configs, workdir, data_dir=args.data_dir, manual_dir=args.manual_dir, only=args.only,
            shard=args.shard, placement=placement, progress=args.progress, **checkpointing,
        )  # fmt: skip
    except RuntimeError as e:  # some groups failed; the others are done and kept
        print(f"{e} (tracebacks above); rerun the same command to retry them")
        return 1
    except RunDirError as e:
        raise unwritable(workdir, e) from e
    print(f"{len(results)} runs in {workdir} ({time.perf_counter() - t0:.0f} s this call)")
    return 0


def _read_back(write, args):
    """A table or page of the sweep folder; a folder without results or a baseline that did
    not run is a message naming the fix, not a traceback."""
    try:
        return write(
            args.workdir,
            reference=getattr(args, "reference", None),
            metric=getattr(args, "metric", None),
            baseline=getattr(args, "baseline", None),
        )
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f"error: {e}") from None


def cmd_table(args) -> int:
    from experiments.tables import write_table

    text, csv = _read_back(write_table, args)
    print(text)
    print(f"\nwritten: {csv}")
    return 0


def cmd_plot(args) -> int:
    from experiments.plots import plot_all

    for path in plot_all(args.workdir):
        print(path)
    return 0


def cmd_report(args) -> int:
    from experiments.report import write_report

    print(f"report: {_read_back(write_report, args)}")
    return 0


def _print_bayes_optimal(data_dir) -> None:
    """The demo's yardstick: metrics of the true click probabilities the data was drawn from."""
    from ctr.datasets import load_info
    from experiments.sweeps import SWEEPS

    data = SWEEPS["demo"]()[0].data
    bayes = load_info(data.name, data_dir=data_dir, **data.options).get("bayes_optimal", {})
    for split, m in bayes.items():
        print(f"Bayes-optimal {split}: AUC {m['auc']:.4f}, logloss {m['logloss']:.4f}")


def cmd_demo(args) -> int:
    from experiments.cli import build_parser

    argv = ["run", "--sweep", "demo", "--workdir", args.workdir]
    argv += ["--data-dir", args.data_dir] if args.data_dir else []
    cmd_run(build_parser().parse_args(argv))  # every other option at the run command's default
    sweep_dir = pathlib.Path(args.workdir) / "demo"
    cmd_table(argparse.Namespace(workdir=sweep_dir))
    _print_bayes_optimal(args.data_dir)
    cmd_plot(argparse.Namespace(workdir=sweep_dir))
    return cmd_report(argparse.Namespace(workdir=sweep_dir))
