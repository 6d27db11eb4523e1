"""DeepFM training throughput: per-step jit vs whole-epoch lax.scan, and N vmapped seeds vs one.

Frappe_x1 train split (batch 4096) when `--data` (default ../shared/data/...) is there, else
synthetic data of the same size. Prints examples/s side by side with ratios; compile time is
excluded (one warm-up). `--trace DIR` also captures one more pass per seed count with
jax.profiler and prints, per step, how long the device is busy, in how many kernels, and on
what kind of work (bench/trace_summary.py): the profile behind the vmapped-seeds cost.
    uv run python bench/train.py [--steps 40] [--seeds 1,2,4] [--trace /tmp/trace]
"""

from __future__ import annotations

import argparse
import pathlib
import time

import jax
import numpy as np
import trace_summary  # bench/ sibling (scripts here run with bench/ on sys.path)

import ctr.datasets
from ctr.datasets.device import epoch_indices, gather, put_on_device
from experiments import train
from experiments.configs import ModelConfig, RunConfig, TrainConfig
from experiments.protocol import model_columns

FRAPPE = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "frappe" / "frappe_x1"


def load(rows: int, frappe: pathlib.Path):
    if frappe.is_dir():
        spec, splits = ctr.datasets.load("frappe", manual_dir=frappe)
        return "frappe", spec, splits["train"]
    spec, splits = ctr.datasets.load("synthetic", rows=rows, num_fields=10, vocab=500)
    return "synthetic", spec, splits["train"]


def timed(fn, *args):
    out = jax.block_until_ready(fn(*args))  # warm-up: compile
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40, help="steps per measurement")
    ap.add_argument("--seeds", default="1,2,4")
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--data", type=pathlib.Path, default=FRAPPE, help="Frappe_x1 (BARS layout)")
    ap.add_argument("--trace", type=pathlib.Path, help="capture a profile per seed count here")
    args = ap.parse_args()
    name, spec, split = load(args.steps * args.batch, args.data)
    cfg = RunConfig(model=ModelConfig(name="deepfm"), train=TrainConfig(batch_size=args.batch))
    model = train.build_model(cfg, spec)
    tx = train.make_optimizer(cfg.train)
    rows = args.steps * args.batch
    data = put_on_device({c: np.resize(split[c], rows) for c in model_columns(spec)})
    step = train.make_train_step(model, tx, cfg.train)
    idx, mask = epoch_indices(jax.random.PRNGKey(0), rows, args.batch)
    state = train.init_state(model, tx, jax.random.PRNGKey(0), gather(data, idx[0], mask[0]))
    n_params = sum(x.size for x in jax.tree.leaves(state.params))
    print(f"DeepFM on {name}: {n_params:,} params, batch {args.batch}, {args.steps} steps, "
          f"{jax.devices()[0].platform}")  # fmt: skip

    jit_step = jax.jit(step)  # no donation: the same state is reused for both timed passes

    def per_step(st):
        for i in range(args.steps):
            st, _ = jit_step(st, gather(data, idx[i], mask[i]))
        return st

    t_step, _ = timed(per_step, state)
    epoch = train.make_epoch_fn(step, args.batch)
    results, traces = {}, {}
    for n in [int(s) for s in args.seeds.split(",")]:
        stacked = train.stack([jax.device_get(state)] * n)
        seeds = np.arange(n, dtype=np.int32)
        lrs = np.full(n, 1e-3, np.float32)
        fn = lambda st, s=seeds, lr=lrs: epoch(jax.tree.map(lambda x: x.copy(), st), data, s,  # noqa: E731
                                                 np.int32(0), lr)  # fmt: skip
        results[n], _ = timed(fn, jax.device_put(stacked))
        if args.trace:
            where = args.trace / f"seeds-{n}"
            with jax.profiler.trace(str(where), create_perfetto_trace=True):
                jax.block_until_ready(fn(jax.device_put(stacked)))
            traces[n] = trace_summary.summarize(trace_summary.load_events(where))
    print(f"{'mode':<28}{'examples/s':>14}{'ratio':>10}")
    base = rows / t_step
    print(f"{'jitted step (host loop)':<28}{base:>14,.0f}{1.0:>10.2f}")
    one = results.get(1)
    for n, t in results.items():
        label = f"epoch scan, {n} vmapped seed(s)"
        cost = f"   cost vs 1 seed: {t / one:.2f}x" if one else ""
        print(f"{label:<28}{n * rows / t:>14,.0f}{n * rows / t / base:>10.2f}{cost}")
    if traces:
        print_profile(traces, {n: t / args.steps for n, t in results.items()}, args.steps)


def print_profile(traces: dict, wall_s_per_step: dict, steps: int) -> None:
    """Per step, side by side per seed count: wall, device busy, kernels, time by kind."""
    ns = list(traces)
    if any(t["device"] is None for t in traces.values()):
        print("\nno device streams in the capture (CPU backend): no per-kernel profile")
        return
    print(f"\nprofile per step ({traces[ns[0]]['device']}), seeds: " + " / ".join(map(str, ns)))
    rows = [
        ("wall ms", [wall_s_per_step[n] * 1e3 for n in ns]),
        ("device busy ms", [traces[n]["busy_us"] / 1e3 / steps for n in ns]),
        ("kernels", [traces[n]["kernels"] / steps for n in ns]),
    ]
    kinds = dict.fromkeys(k for n in ns for k in traces[n]["by_kind_us"])
    rows += [
        (f"  {k} ms", [traces[n]["by_kind_us"].get(k, 0) / 1e3 / steps for n in ns]) for k in kinds
    ]
    for label, values in rows:
        ratio = f"{values[-1] / values[0]:>8.2f}x" if values[0] else ""
        print(f"{label:<24}" + "".join(f"{v:>12,.3f}" for v in values) + ratio)
    for n in ns:
        print(f"top kernels, {n} seed(s): " + "; ".join(
            f"{name[:60]} {us / 1e3 / steps:.3f} ms x{count // steps}"
            for name, us, count in traces[n]["top"][:6]
        ))  # fmt: skip


if __name__ == "__main__":
    main()
