"""Model init at the start of a run: eager (op by op, each op compiled once per process and
shared by later models) vs one jitted init program (compiled per model) built with XLA's
default optimisation or at -O0 (experiments.train.make_init_fn, what a run uses),
first and second model. Init runs once per run, so its compile time is what counts.
    uv run python bench/init.py --mode jit-O0 [--models deepfm,dcnv2,dnn]
"""

from __future__ import annotations

import argparse
import time

import jax

import ctr.datasets
from experiments import train
from experiments.protocol import init_sample
from experiments.sweeps import bars_run


def timed(fn, *args) -> float:
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="deepfm,dcnv2,dnn", help="names in BARS_FRAPPE")
    ap.add_argument("--mode", choices=["eager", "jit", "jit-O0"], required=True,
                    help="one mode per process: its first model pays the warm-up")  # fmt: skip
    args = ap.parse_args()
    spec, splits = ctr.datasets.load("synthetic", rows=1000, num_fields=10, vocab=500)
    sample = init_sample(spec, splits["train"])
    print(f"{args.mode} init on {jax.devices()[0].platform}")
    for name in args.models.split(","):
        cfg = bars_run(name, "none", 0, sweep="init")
        model = train.build_model(cfg, spec)
        tx = train.make_optimizer(cfg.train)
        init = lambda key, m=model, t=tx: train.init_state(m, t, key, sample)  # noqa: E731
        if args.mode == "jit":
            init = jax.jit(init)
        elif args.mode == "jit-O0":
            init = train.make_init_fn(model, tx, sample)
        first = timed(init, jax.random.PRNGKey(0))
        again = timed(init, jax.random.PRNGKey(1))
        print(f"{name:<10} first {first:7.2f} s   same model again {again:7.3f} s")


if __name__ == "__main__":
    main()
