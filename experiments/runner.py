"""Runs a sweep: skip finished runs, resume unfinished ones, vmap seeds, write result.json.

Runs are grouped by everything but the seed; a group trains as one vmapped program
(`protocol.train_runs`). `--shard i/N` takes every N-th group, so seeds of a config stay on one
machine. Data sets are loaded once per process and shared by the groups that use them.

A process trains a run only while it holds the run's lock (`RunDir.lock`): a second `resctr run`
on the same workdir skips the runs the first one trains, says so, and at the end lists the runs
it left to others. An error writing a run folder (a read-only or full disk) stops the sweep;
finished runs stay, and the same command resumes once the disk is writable.
"""

from __future__ import annotations

import functools
import json
import pathlib
import platform
import re
import subprocess
import time
import traceback
from collections.abc import Callable

import flax
import jax
import optax
from tqdm.auto import tqdm

import ctr.datasets
from ctr.datasets.gbdt import prepare_for_model
from experiments import protocol, train
from experiments.configs import RunConfig
from experiments.rundir import RunDir, RunDirError


def select(configs: list[RunConfig], only: str | None, shard: tuple[int, int]) -> list[RunConfig]:
    """The runs this process owns: matching `only` (regex on run_id), then shard i of N."""
    if only:
        configs = [c for c in configs if re.search(only, c.run_id)]
    index, count = shard
    if not 0 <= index < count:
        raise ValueError(f"shard {index}/{count}: need 0 <= i < N")
    keys = list(dict.fromkeys(c.seedless_key() for c in configs))
    mine = set(keys[index::count])
    return [c for c in configs if c.seedless_key() in mine]


@functools.cache
def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            cwd=pathlib.Path(__file__).parent,
            timeout=10,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict:
    dev = jax.devices()[0]
    return {
        "device": f"{dev.platform}:{getattr(dev, 'device_kind', '')} x{jax.device_count()}",
        "host": platform.node(),
        "versions": {"jax": jax.__version__, "flax": flax.__version__, "optax": optax.__version__},
        "git_commit": git_commit(),
    }


def make_result(cfg, prot: protocol.Protocol, test, best_params, steps_per_epoch: int) -> dict:
    return {
        "run_id": cfg.run_id,
        "config": cfg.to_json(),
        "status": prot.status,
        "best_epoch": prot.best_epoch,
        "epochs": prot.epoch,
        "diverged_step": prot.diverged_step,
        "valid": prot.best_valid,
        "test": test,
        "connection": protocol.connection_scalars(best_params),
        "params": train.param_counts(best_params),
        "steps": prot.epoch * steps_per_epoch,
        "train_s": prot.train_s,
        "examples_per_s": prot.examples / prot.train_s if prot.train_s else None,
        **environment(),
    }


def claim(
    group: list[RunConfig], workdir: pathlib.Path, left: dict[str, str]
) -> tuple[list[RunConfig], list[RunDir]]:
    """The group's unfinished runs whose lock this process took, and their folders; a run
    whose lock another process holds is skipped, said so, and recorded in `left`."""
    todo, dirs = [], []
    try:
        for c in group:
            rd = RunDir(workdir / c.run_id)
            if rd.is_done():
                continue
            holder = rd.lock()
            if holder is not None:
                left[c.run_id] = holder
                tqdm.write(f"{c.run_id}: skipped, another process trains it ({holder})")
            elif rd.is_done():  # finished by that process between the two looks
                rd.close()
            else:
                todo.append(c)
                dirs.append(rd)
    except BaseException:
        for rd in dirs:
            rd.close()
        raise
    return todo, dirs


def run_sweep(
    configs: list[RunConfig],
    workdir: str | pathlib.Path,
    *,
    data_dir=None,
    manual_dir=None,
    only: str | None = None,
    shard: tuple[int, int] = (0, 1),
    loader: Callable = ctr.datasets.load,
    placement=None,
    progress: bool = True,
    checkpoint_every_s: float = protocol.CHECKPOINT_EVERY_S,
) -> list[dict]:
    """Trains every selected run that has no result.json yet and no other process training it;
    returns the results of all selected runs that are done. A run folder that cannot be written
    (RunDirError) stops the sweep; any other error fails its group and the sweep goes on."""
    workdir = pathlib.Path(workdir)
    configs = select(configs, only, shard)
    groups: dict[str, list[RunConfig]] = {}
    for c in configs:
        groups.setdefault(c.seedless_key(), []).append(c)
    done = sum(RunDir(workdir / c.run_id).is_done() for c in configs)
    bar = tqdm(total=len(configs), initial=done, disable=not progress, unit="run")
    datasets: dict[str, tuple] = {}
    failures = []
    left: dict[str, str] = {}
    for group in groups.values():
        todo, dirs = claim(group, workdir, left)
        if not todo:
            continue
        try:
            d = todo[0].data
            key = json.dumps([d.name, d.options], sort_keys=True)
            if key not in datasets:
                datasets[key] = loader(
                    d.name, data_dir=data_dir, manual_dir=manual_dir, **d.options
                )
            spec, splits = datasets[key]
            # Models that fit a feature transform first (gbdt_lr's trees) get it here, cached.
            spec, splits = prepare_for_model(
                todo[0].model.name,
                spec,
                splits,
                todo[0].model.options,
                data_dir or ctr.datasets.default_data_dir(),
            )
            for c, rd in zip(todo, dirs, strict=True):
                rd.start(c.to_json())
            steps = -(-len(splits["train"][spec.label]) // todo[0].train.batch_size)
            t0 = time.perf_counter()

            def finish(cfg, rd, prot, test, best_params, t0=t0, steps=steps):
                result = make_result(cfg, prot, test, best_params, steps)
                result["wall_s"] = time.perf_counter() - t0
                rd.write_result(result)
                bar.update(1)

            def on_epoch(epoch, todo=todo):
                bar.set_postfix_str(f"{todo[0].model.name}/{todo[0].connection.name} epoch {epoch}")

            try:
                protocol.train_runs(
                    todo, dirs, spec, splits, finish=finish, on_epoch=on_epoch,
                    placement=placement, checkpoint_every_s=checkpoint_every_s,
                )  # fmt: skip
            except RunDirError:  # a read-only or full workdir: every later group would fail too
                raise
            except Exception as e:  # noqa: BLE001 - one broken config must not stop the sweep
                failures.append((todo[0].run_id, e))
                tqdm.write(f"FAILED {[c.run_id for c in todo]}:\n{traceback.format_exc()}")
        finally:
            for rd in dirs:
                rd.close()
    bar.close()
    if left:
        tqdm.write(
            f"{len(left)} run(s) left to the processes that hold their lock: "
            + ", ".join(f"{run} ({holder})" for run, holder in left.items())
        )
    if failures:
        raise RuntimeError(f"{len(failures)} group(s) failed: {[f[0] for f in failures]}")
    return [
        json.loads(RunDir(workdir / c.run_id).result.read_text())
        for c in configs
        if RunDir(workdir / c.run_id).is_done()
    ]
