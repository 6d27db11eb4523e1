"""How much of a BARS DeepFM training step is its tower's matrix products: the part that no
framework around the same GEMMs removes (FuxiCTR runs the same products through PyTorch).

Times, in one process on the device at hand, (a) the whole jitted DeepFM train step (embedding
lookup, FM, 400-400-400 tower with BatchNorm and dropout, BCE, L2, Adam) on a Frappe-shaped
batch and (b) only the tower's dense products, forward (x W for 3 hidden layers and the output)
and backward (dL/dx and dL/dW for each), as bare `jnp.dot`s of the same shapes. (a)/(b) bounds
the speed-up left for everything that is not a matmul.
    uv run python bench/matmul_floor.py [--batch 4096] [--reps 30]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

import ctr.datasets
from experiments import train
from experiments.configs import ModelConfig, RunConfig, TrainConfig
from experiments.protocol import model_columns
from experiments.sweeps import BARS_TOWER


def per_call_s(fn, *args, reps: int) -> float:
    jax.block_until_ready(fn(*args))  # compile
    best = float("inf")
    for _ in range(3):  # best of 3 batches of reps: other jobs on a shared machine only add
        t0 = time.perf_counter()
        for _ in range(reps):
            out = fn(*args)
        jax.block_until_ready(out)
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def tower_products(widths: list[int], batch: int):
    """Forward x_l W_l, backward g_l W_l^T and x_l^T g_l, for every layer of the tower; the
    activations double as upstream gradients (only shapes matter for the time)."""
    n = len(widths) - 1
    keys = jax.random.split(jax.random.PRNGKey(0), n + len(widths))
    ws = [jax.random.normal(k, (a, b)) for k, a, b in zip(keys, widths, widths[1:], strict=False)]
    xs = [jax.random.normal(k, (batch, a)) for k, a in zip(keys[n:], widths, strict=True)]

    @jax.jit
    def products(ws, xs):  # every product is returned: XLA may not simplify any away
        outs = []
        for w, x_in, g in zip(ws, xs[:-1], xs[1:], strict=True):
            outs += [x_in @ w, g @ w.T, x_in.T @ g]  # forward, dL/dx, dL/dW
        return outs

    return products, ws, xs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args()
    spec, splits = ctr.datasets.load("synthetic", rows=args.batch, num_fields=10, vocab=500)
    cfg = RunConfig(
        model=ModelConfig(name="deepfm", options=dict(BARS_TOWER)),
        train=TrainConfig(batch_size=args.batch, embedding_l2=0.05),
    )
    model = train.build_model(cfg, spec)
    tx = train.make_optimizer(cfg.train)
    batch = {c: jnp.asarray(splits["train"][c][: args.batch]) for c in model_columns(spec)}
    batch["mask"] = jnp.ones(args.batch, jnp.float32)
    state = train.init_state(model, tx, jax.random.PRNGKey(0), batch)
    step = jax.jit(train.make_train_step(model, tx, cfg.train))
    whole = per_call_s(step, state, batch, reps=args.reps)
    widths = [len(spec.fields) * cfg.model.embedding_dim, *BARS_TOWER["hidden"], 1]
    products, ws, xs = tower_products(widths, args.batch)
    matmuls = per_call_s(products, ws, xs, reps=args.reps)
    flops = 2 * args.batch * sum(a * b for a, b in zip(widths, widths[1:], strict=False)) * 3
    print(f"DeepFM train step, batch {args.batch}, on {jax.devices()[0].platform} "
          f"({jax.device_count()} device(s), jax {jax.__version__})")  # fmt: skip
    print(f"{'whole train step':<36}{whole * 1e3:>10.2f} ms")
    print(f"{'tower matmuls only (fwd + bwd)':<36}{matmuls * 1e3:>10.2f} ms"
          f"   {flops / matmuls / 1e9:,.0f} GFLOP/s")  # fmt: skip
    print(f"{'matmul share of the step':<36}{matmuls / whole:>10.1%}")
    print(f"{'step speed-up if the rest were free':<36}{whole / matmuls:>10.2f}x")


if __name__ == "__main__":
    main()
