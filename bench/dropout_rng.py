"""Dropout masks per training step: threefry2x32 (JAX's default) vs philox4x32
(`train.dropout_prng`), alone and inside the BARS DeepFM train step, in one process.

The masks of a 400-400-400 tower at batch 4096 are 4.9 M Bernoulli draws a step; on a CPU
threefry's 20 rounds of 32-bit mixing per pair of words make them a sizeable part of the step.
Timings alternate between the generators (best of several batches), so a shared machine's
load hits both alike.
    uv run python bench/dropout_rng.py [--batch 4096] [--reps 20]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

import ctr.datasets
from experiments import train
from experiments.configs import DROPOUT_PRNGS, ModelConfig, RunConfig, TrainConfig
from experiments.protocol import model_columns

TOWER = (400, 400, 400)


def best_ms(fn, *args, reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        out = fn(*args)
    jax.block_until_ready(out)
    return (time.perf_counter() - t0) / reps * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    spec, splits = ctr.datasets.load("synthetic", rows=args.batch, num_fields=10, vocab=500)
    batch = {c: jnp.asarray(splits["train"][c][: args.batch]) for c in model_columns(spec)}
    batch["mask"] = jnp.ones(args.batch, jnp.float32)
    masks, steps, states = {}, {}, {}
    for prng in DROPOUT_PRNGS:
        tcfg = TrainConfig(batch_size=args.batch, embedding_l2=0.05, dropout_prng=prng)
        cfg = RunConfig(
            model=ModelConfig(
                name="deepfm", options={"hidden": list(TOWER), "dropout": 0.2, "batch_norm": True}
            ),  # fmt: skip
            train=tcfg,
        )
        model = train.build_model(cfg, spec)
        tx = train.make_optimizer(tcfg)
        states[prng] = train.init_state(model, tx, jax.random.PRNGKey(0), batch)
        steps[prng] = jax.jit(train.make_train_step(model, tx, tcfg))

        def draw(raw, tcfg=tcfg):
            key = train.dropout_key(raw, tcfg)
            return [jax.random.bernoulli(jax.random.fold_in(key, i), 0.8, (args.batch, w))
                    for i, w in enumerate(TOWER)]  # fmt: skip

        masks[prng] = jax.jit(draw)
        jax.block_until_ready(masks[prng](states[prng].rng))  # compile
        jax.block_until_ready(steps[prng](states[prng], batch))
    best = {(what, p): float("inf") for what in ("masks", "step") for p in DROPOUT_PRNGS}
    for _ in range(args.rounds):
        for p in DROPOUT_PRNGS:
            best["masks", p] = min(
                best["masks", p], best_ms(masks[p], states[p].rng, reps=args.reps)
            )
            best["step", p] = min(
                best["step", p], best_ms(steps[p], states[p], batch, reps=args.reps)
            )
    a, b = DROPOUT_PRNGS
    print(f"batch {args.batch}, tower {TOWER}, dropout 0.2, on {jax.devices()[0].platform} "
          f"(jax {jax.__version__}); best of {args.rounds} x {args.reps}")  # fmt: skip
    print(f"{'ms':<28}{a:>14}{b:>14}{'ratio':>8}")
    for what, label in (("masks", "3 dropout masks"), ("step", "DeepFM train step")):
        x, y = best[what, a], best[what, b]
        print(f"{label:<28}{x:>14.2f}{y:>14.2f}{x / y:>8.2f}")


if __name__ == "__main__":
    main()
