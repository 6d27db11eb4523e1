"""`resctr launch slurm|local`: a sweep as a job array on the cluster's own scheduler.

A grid of many small runs belongs on a job array: task i of N runs `resctr run ... --shard i/N
--jobs K` (K worker processes on the task's GPU, experiments/jobs.py). The array is submitted
through submitit (SLURM; `local` runs the same tasks as local processes through submitit's
LocalExecutor, which is how it is tested), not a home-made scheduler. Before submitting, the
launcher prepares the data sets once (tasks would race to write one cache), records the sweep's
manifest, and leaves out the tasks whose shard is finished: resubmitting the same command
submits only what is left, and a task skips the runs that are done or that another process
holds (RunDir.lock). Each task returns the run ids it finished, so `--wait` can say who trained
what. Logs: WORKDIR/SWEEP/submitit/<job id>_<task>_log.{out,err}.
"""

from __future__ import annotations

import pathlib

from experiments.cli import key_value_pairs
from experiments.cli_run import add_sweep_arguments, load_grid


def task(argv: list[str], workdir: str, run_ids: list[str]) -> list[str]:
    """One array task: `resctr run argv`; returns the runs of `run_ids` this task finished."""
    from experiments import cli

    def done() -> set[str]:
        return {r for r in run_ids if (pathlib.Path(workdir) / r / "result.json").exists()}

    before = done()
    rc = cli.main(argv)
    if rc:  # a failed task must show as failed in the scheduler and in job.result()
        raise RuntimeError(f"`resctr {' '.join(argv)}` exited with {rc}; its log says why")
    return sorted(done() - before)


def _slurm_options(pairs: list[str]) -> dict[str, str]:
    """--slurm KEY=VALUE pairs as submitit's slurm_additional_parameters (keys without "--")."""
    checked = key_value_pairs(pairs, "--slurm", "KEY=VALUE (an sbatch option)")
    return {key.strip().removeprefix("--"): value for key, value in checked}


def parameters(args) -> dict:
    """submitit parameters of the array from the command line (both executors read the
    generic ones; slurm_* ones only SLURM)."""
    params = {"name": args.job_name, "timeout_min": args.time, "cpus_per_task": args.cpus_per_task}
    if args.gpus_per_task:
        params["gpus_per_node"] = args.gpus_per_task  # one task per node: per task
    if args.mem_gb:
        params["mem_gb"] = args.mem_gb
    if args.cluster == "slurm":
        params["slurm_array_parallelism"] = args.parallel or args.array
        for key in ("partition", "account", "qos"):
            if getattr(args, key):
                params[f"slurm_{key}"] = getattr(args, key)
        if args.setup:
            params["slurm_setup"] = list(args.setup)
        extra = _slurm_options(args.slurm)
        if extra:
            params["slurm_additional_parameters"] = extra
    return params


def cmd_launch(args) -> int:
    import submitit

    from experiments.jobs import prepare_data, run_argv
    from experiments.runner import select

    if args.array < 1 or args.jobs_per_task < 1:
        raise SystemExit(f"--array and --jobs-per-task want N >= 1, got {args.array}, "
                         f"{args.jobs_per_task}")  # fmt: skip
    sweep, configs, workdir = load_grid(args)
    shards = {}
    for i in range(args.array):
        mine = select(configs, args.only, (i, args.array))
        todo = [c for c in mine if not (workdir / c.run_id / "result.json").exists()]
        if todo:
            shards[i] = (mine, todo)
    total = len(select(configs, args.only, (0, 1)))
    if not shards:
        print(f"all {total} runs of {sweep.name} are done in {workdir}; nothing submitted")
        return 0
    prepare_data([c for _, todo in shards.values() for c in todo], args.data_dir, args.manual_dir)
    sweep.write_manifest(workdir)
    folder = workdir / "submitit"
    try:
        executor = submitit.AutoExecutor(folder=folder, cluster=args.cluster)
    except RuntimeError as e:  # submitit's SLURM executor needs `srun` on PATH
        raise SystemExit(
            f"{e}\nSubmit from a SLURM login node, or run the same tasks here "
            "with `resctr launch local`"
        ) from None
    executor.update_parameters(**parameters(args))
    argvs, dirs, ids = [], [], []
    for i, (mine, _) in shards.items():
        argvs.append(run_argv(args, (i, args.array)) + ["--jobs", str(args.jobs_per_task),
                                                        "--no-progress"])  # fmt: skip
        dirs.append(str(workdir.resolve()))
        ids.append([c.run_id for c in mine])
    jobs = executor.map_array(task, argvs, dirs, ids)
    todo = sum(len(t) for _, t in shards.values())
    job_ids = sorted({j.job_id.split("_")[0] for j in jobs})  # a SLURM array has one
    print(f"submitted {len(jobs)} of {args.array} array tasks ({todo} of {total} runs left) "
          f"as {args.cluster} job(s) {', '.join(job_ids)}; logs in {folder}")  # fmt: skip
    if args.cluster == "slurm" and not args.wait:
        print("watch them with `squeue --me`; rerun this command to submit what is left")
        return 0
    failed = 0
    for i, job in zip(shards, jobs, strict=True):
        try:
            trained = job.result()
            print(f"task {i}/{args.array}: finished {len(trained)} runs")
        except Exception as e:  # noqa: BLE001 - report every task, then fail
            failed += 1
            print(f"task {i}/{args.array} (job {job.job_id}) failed: {e}")
    return 1 if failed else 0


def register(sub) -> None:
    p = sub.add_parser("launch", help="submit a sweep as a job array (SLURM, through submitit)")
    p.add_argument("cluster", choices=("slurm", "local"),
                   help="slurm: sbatch a job array; local: the same tasks as local "
                   "processes (submitit's LocalExecutor: a test, or a machine without a "
                   "scheduler)")  # fmt: skip
    add_sweep_arguments(p)
    p.add_argument("--array", type=int, required=True, metavar="N",
                   help="array tasks: task i runs shard i/N of the grid")  # fmt: skip
    p.add_argument("--jobs-per-task", type=int, default=1, metavar="K",
                   help="worker processes per task on its device (run --jobs K)")  # fmt: skip
    p.add_argument("--gpus-per-task", type=int, default=0, metavar="G")
    p.add_argument("--cpus-per-task", type=int, default=4, metavar="C")
    p.add_argument("--mem-gb", type=float, default=None)
    p.add_argument("--time", type=int, default=24 * 60, metavar="MINUTES",
                   help="a task's time limit")  # fmt: skip
    p.add_argument("--parallel", type=int, default=None, metavar="M",
                   help="SLURM: at most M tasks at once (default: all N)")  # fmt: skip
    p.add_argument("--partition")
    p.add_argument("--account")
    p.add_argument("--qos")
    p.add_argument("--setup", action="append", default=[], metavar="CMD",
                   help="SLURM: a shell line run before each task, e.g. "
                   "'module load cuda'")  # fmt: skip
    p.add_argument("--slurm", action="append", default=[], metavar="KEY=VALUE",
                   help="any other sbatch option, e.g. constraint=h100")  # fmt: skip
    p.add_argument("--job-name", default="resctr")
    p.add_argument("--checkpoint-every", type=float, default=None, metavar="SECONDS",
                   help="as for resctr run")  # fmt: skip
    p.add_argument("--wait", action="store_true",
                   help="SLURM: wait for the tasks and report each (local always "
                   "waits)")  # fmt: skip
    p.set_defaults(func=cmd_launch)
