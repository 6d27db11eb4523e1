"""What each residual family costs in the 8 x 400 DNN tower: parameters and train-step time,
relative to `identity`, measured side by side in one run on this machine.

The tower is DNN's (embedding 10 over 10 fields = width 100 in, 8 x 400 ReLU, dropout 0.2, no
in-block BatchNorm so the fused `dag` runs the same tower), batch 4096, Adam; family options
are the sweeps' (experiments.sweeps.family_options: dense projects the 100 -> 400 change).
Every family's step is compiled first; then `--rounds` rounds each time `--steps` steps of every
family in turn, and the median per family is reported, so drift on a shared machine hits all
families alike.
    uv run python bench/families.py [--steps 10] [--rounds 3] [--families hyper,mhc]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

import jax
import numpy as np

import ctr.datasets
import resnets
from ctr.datasets.device import epoch_indices, gather, put_on_device
from experiments import train
from experiments.configs import ConnectionConfig, ModelConfig, RunConfig, TrainConfig
from experiments.protocol import model_columns
from experiments.sweeps import family_options

TOWER = {"hidden": [400] * 8, "dropout": 0.2}


def build(family: str, spec, batch: dict, train_cfg: TrainConfig):
    """(jitted step, initial state, parameter counts) of the DNN tower with `family`."""
    options = family_options(family, widths_differ=True, dag_group=40)
    cfg = RunConfig(
        model=ModelConfig(name="dnn", options=TOWER, embedding_dim=10),
        connection=ConnectionConfig(name=family, options=options),
        train=train_cfg,
    )
    model = train.build_model(cfg, spec)
    tx = train.make_optimizer(cfg.train)
    state = train.init_state(model, tx, jax.random.PRNGKey(0), batch)
    counts = train.param_counts(state.params)
    return jax.jit(train.make_train_step(model, tx, cfg.train)), state, counts, _conn(state)


def _conn(state) -> int:
    """Parameters owned by the connections (conn_*, a shared conn, a fused family's dag)."""
    leaves = jax.tree_util.tree_leaves_with_path(state.params)
    return sum(
        int(np.size(leaf))
        for path, leaf in leaves
        if any(re.fullmatch(r"conn(_\w+)?|dag", str(getattr(k, "key", ""))) for k in path)
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10, help="steps per timing")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--families", default=",".join(resnets.CONNECTIONS))
    args = ap.parse_args()
    families = args.families.split(",")
    if "identity" not in families:
        families.insert(0, "identity")
    rows = args.steps * args.batch
    spec, splits = ctr.datasets.load("synthetic", rows=rows, num_fields=10, vocab=500)
    data = put_on_device({c: np.resize(splits["train"][c], rows) for c in model_columns(spec)})
    idx, mask = epoch_indices(jax.random.PRNGKey(0), rows, args.batch)
    batches = [gather(data, idx[i], mask[i]) for i in range(args.steps)]
    train_cfg = TrainConfig(batch_size=args.batch)
    built, compile_s = {}, {}
    for family in families:
        t0 = time.perf_counter()
        step, state, counts, conn = build(family, spec, batches[0], train_cfg)
        state = jax.block_until_ready(step(state, batches[0])[0])  # compile
        built[family] = (step, state, counts, conn)
        compile_s[family] = time.perf_counter() - t0
    times: dict[str, list[float]] = {f: [] for f in families}
    for _ in range(args.rounds):
        for family, (step, state, _, _) in built.items():
            t0 = time.perf_counter()
            for b in batches:
                state, _ = step(state, b)
            jax.block_until_ready(state)
            times[family].append((time.perf_counter() - t0) / args.steps)
    dev = jax.devices()[0]
    print(f"DNN 8 x 400 tower, batch {args.batch}, {args.steps} steps x {args.rounds} rounds, "
          f"{dev.platform}:{getattr(dev, 'device_kind', '')}")  # fmt: skip
    print(f"{'family':<10}{'params':>12}{'of which conn':>15}{'ms/step':>10}"
          f"{'vs identity':>13}{'build+compile s':>17}")  # fmt: skip
    base = statistics.median(times["identity"])
    for family in families:
        _, _, counts, conn = built[family]
        ms = statistics.median(times[family])
        total = counts["embedding"] + counts["other"]
        print(f"{family:<10}{total:>12,}{conn:>15,}{ms * 1e3:>10.1f}{ms / base:>13.2f}"
              f"{compile_s[family]:>17.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
