"""Data pipeline benchmark: Frappe prepare and cached-load times, and device-resident batching
(a jitted `lax.scan` over `epoch_indices` + `gather`) against a plain host numpy batching loop,
measured side by side in one run.

    uv run python bench/data.py [--frappe DIR] [--batch 4096] [--epochs 3]
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

import ctr.datasets as D
from ctr.datasets import device

FRAPPE = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "frappe" / "frappe_x1"


def timed(fn, repeat=1):
    """(best wall seconds over `repeat` calls, last result)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def device_epochs(split, batch, epochs):
    """(compile s, run s with a fresh shuffle each epoch, run s of the scan alone).

    Every column is gathered and summed each step, so none of the gathers is optimised away.
    """
    arrays = device.put_on_device(split)
    n = len(split["label"])

    def scan(arrays, idx, mask):
        def step(acc, im):
            b = device.gather(arrays, *im)
            m = b.pop("mask")
            sums = [(v.astype(jnp.float32).reshape(batch, -1).sum(1) * m).sum() for v in b.values()]
            return acc + sum(sums), None

        return jax.lax.scan(step, jnp.float32(0), (idx, mask))[0]

    epoch = jax.jit(lambda arrays, key: scan(arrays, *device.epoch_indices(key, n, batch)))
    scan_only = jax.jit(scan)
    keys = jax.random.split(jax.random.key(0), epochs + 1)
    compile_s, _ = timed(lambda: epoch(arrays, keys[0]).block_until_ready())
    run_s, _ = timed(lambda: [epoch(arrays, k).block_until_ready() for k in keys[1:]])
    idx, mask = device.epoch_indices(keys[0], n, batch)
    scan_only(arrays, idx, mask).block_until_ready()
    scan_s, _ = timed(lambda: [scan_only(arrays, idx, mask).block_until_ready() for _ in keys[1:]])
    return compile_s, run_s, scan_s


def host_epochs(split, batch, epochs):
    n = len(split["label"])
    rng = np.random.default_rng(0)

    def run():
        total = 0.0
        for _ in range(epochs):
            order = rng.permutation(n)
            for s in range(0, n, batch):
                idx = order[s : s + batch]
                b = {k: v[idx] for k, v in split.items()}
                total += sum(float(v.sum()) for v in b.values())
        return total

    return timed(run)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frappe", type=pathlib.Path, default=FRAPPE)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()})")
    with tempfile.TemporaryDirectory() as tmp:
        prep_s, _ = timed(lambda: D.prepare("frappe", data_dir=tmp, manual_dir=args.frappe))
        load_s, (spec, splits) = timed(lambda: D.load("frappe", data_dir=tmp), repeat=3)
    train = splits["train"]
    n = len(train["label"])
    print(f"frappe prepare (parse CSV, train-only vocab, write cache): {prep_s:.2f} s")
    print(
        f"frappe cached load ({sum(len(s['label']) for s in splits.values()):,} rows): "
        f"{load_s * 1e3:.1f} ms"
    )
    steps = args.epochs * device.num_steps(n, args.batch)
    compile_s, dev_s, scan_s = device_epochs(train, args.batch, args.epochs)
    host_s = host_epochs(train, args.batch, args.epochs)
    print(
        f"batching {n:,} train rows x {args.epochs} epochs, batch {args.batch}, "
        f"{len(train)} columns (device compile {compile_s:.2f} s, excluded)"
    )
    print(f"{'':<30}{'batches/s':>12}{'examples/s':>14}")
    rows = (
        ("device: shuffle + scan", dev_s),
        ("device: scan only (same idx)", scan_s),
        ("host numpy loop", host_s),
    )
    for name, sec in rows:
        print(f"{name:<30}{steps / sec:>12,.0f}{args.epochs * n / sec:>14,.0f}")
    print(
        f"device/host throughput: {host_s / dev_s:.2f}x with the on-device shuffle, "
        f"{host_s / scan_s:.2f}x for the batching scan alone"
    )


if __name__ == "__main__":
    main()
