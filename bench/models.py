"""Every registered model's training speed, side by side on one device in one run.

Each model trains with the settings a run of it uses (the first built-in sweep that runs it,
SWEEPS): a BARS model (experiments/sweeps.py BARS_FRAPPE) on Frappe_x1's train split, batch
4096; gbdt_lr as gbdt_frappe runs it, on its trees' leaves (fitted once, not timed); a
behaviour-sequence model with seq_amazon's or seq_wrappers' settings (embedding 16, batch 1024)
on Amazon Beauty, histories cut to 20. For each: parameters, init + compile seconds (one
epoch program of `--steps` batches, the runner's `lax.scan`, one seed), then the same program
run again and timed: ms per step and train examples/s, and examples/s relative to DeepFM, so
the slow ones stand out. Compile and init are excluded from the throughput.

    uv run python bench/models.py [--steps 20] [--models deepfm,autoint,...]

Needs ../shared/data (Frappe_x1 and, for the sequence models, amazon_seq_iclrec); a model
whose data is absent is listed as skipped.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import jax
import numpy as np

import ctr.datasets
import resnets
from ctr.datasets.device import put_on_device
from ctr.datasets.gbdt import prepare_for_model
from ctr.models import MODELS
from experiments import sweeps, train
from experiments.configs import ConnectionConfig, ModelConfig, RunConfig
from experiments.protocol import init_sample, model_columns

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
FRAPPE = SHARED / "frappe" / "frappe_x1"
AMAZON = SHARED / "sequence_samples" / "amazon_seq_iclrec"


# the built-in sweeps whose runs set each model's speed, searched in this order
SWEEPS = ("bars_frappe", "gbdt_frappe", "seq_amazon", "seq_wrappers")


def config(name: str) -> RunConfig:
    """The plain-family config a run of `name` uses in the first of SWEEPS that has it; a
    sequence model no sweep runs gets seq_amazon's data and training settings."""
    for sweep in SWEEPS:
        for c in sweeps.SWEEPS[sweep]():
            if c.model.name == name and resnets.CONNECTIONS[c.connection.name].plain:
                return c
    return RunConfig(
        data=sweeps.AMAZON_BEAUTY,
        model=ModelConfig(name=name, options=sweeps.SEQ_OPTIONS.get(name, {}), embedding_dim=16),
        connection=ConnectionConfig(name="none"),
        train=sweeps.SEQ_TRAIN,
        sweep="models",
    )


def load(cfg: RunConfig, cache: dict):
    manual = FRAPPE if cfg.data.name == "frappe" else AMAZON
    if not manual.is_dir():
        return None
    key = (cfg.data.name, tuple(sorted(cfg.data.options.items())))
    if key not in cache:
        cache[key] = ctr.datasets.load(cfg.data.name, manual_dir=manual, **cfg.data.options)
    spec, splits = cache[key]
    return prepare_for_model(
        cfg.model.name, spec, splits, cfg.model.options, ctr.datasets.default_data_dir()
    )


def measure(cfg: RunConfig, spec, splits, steps: int) -> dict:
    batch = cfg.train.batch_size
    rows = steps * batch
    cols = model_columns(spec)
    train_split = splits["train"]
    data = put_on_device({c: np.resize(train_split[c], (rows, *train_split[c].shape[1:]))
                          for c in cols})  # fmt: skip
    sample = init_sample(spec, train_split)
    model = train.build_model(cfg, spec)
    tx = train.make_optimizer(cfg.train, spec)
    t0 = time.perf_counter()
    init = train.make_init_fn(model, tx, sample, cfg.model.init)
    state = train.stack([jax.device_get(init(jax.random.PRNGKey(0)))])
    consts = train.constants(model, spec, train_split, sample)
    epoch = train.make_epoch_fn(train.make_train_step(model, tx, cfg.train, consts), batch)
    seeds, lrs = np.zeros(1, np.int32), np.full(1, cfg.train.lr, np.float32)

    def run(st):  # the epoch donates its state: give it a copy, keep `state` for the next pass
        return epoch(jax.tree.map(lambda x: x.copy(), st), data, seeds, np.int32(0), lrs)

    state = jax.device_put(state)
    jax.block_until_ready(run(state))
    setup_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    jax.block_until_ready(run(state))
    wall = time.perf_counter() - t1
    params = sum(int(np.prod(x.shape[1:])) for x in jax.tree.leaves(state.params))
    return {
        "params": params,
        "batch": batch,
        "setup_s": setup_s,
        "ms_per_step": wall / steps * 1e3,
        "examples_per_s": rows / wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=20, help="batches per timed epoch program")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated, default all")
    args = ap.parse_args()
    names = args.models.split(",")
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise SystemExit(f"--models: unknown {unknown}; choose from {', '.join(MODELS)}")
    dev = jax.devices()[0]
    print(f"device {dev.platform}:{getattr(dev, 'device_kind', '')}, jax {jax.__version__}, "
          f"{args.steps} steps per timing, one seed")  # fmt: skip
    results, skipped, cache = {}, [], {}
    for name in names:
        cfg = config(name)
        data = load(cfg, cache)
        if data is None:
            skipped.append(f"{name} (no {cfg.data.name} data under {SHARED})")
            continue
        results[name] = r = measure(cfg, *data, args.steps) | {"data": cfg.data.name}
        print(f"  {name}: {r['examples_per_s']:,.0f} examples/s", flush=True)
    base = results.get("deepfm", {}).get("examples_per_s")
    print(f"\n{'model':<16}{'data':<9}{'params':>12}{'batch':>7}{'init+compile s':>16}"
          f"{'ms/step':>10}{'examples/s':>14}{'vs deepfm':>11}")  # fmt: skip
    for name, r in sorted(results.items(), key=lambda kv: -kv[1]["examples_per_s"]):
        rel = f"{r['examples_per_s'] / base:>11.3f}" if base else ""
        print(f"{name:<16}{r['data']:<9}{r['params']:>12,}{r['batch']:>7}{r['setup_s']:>16.1f}"
              f"{r['ms_per_step']:>10.1f}{r['examples_per_s']:>14,.0f}{rel}")  # fmt: skip
    for s in skipped:
        print(f"skipped: {s}")


if __name__ == "__main__":
    main()
