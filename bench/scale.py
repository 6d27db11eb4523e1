"""Criteo-sized synthetic throughput benchmark: data, tables and training all device-resident.

A Criteo-shaped data set is drawn on the device with jax.random: 39 categorical fields (BARS
bucketizes Criteo's 13 integer fields too), vocabularies log-uniform from 10 to --max-vocab
(+PAD, OOV, rounded up to a multiple of lcm(8, devices) so tables split evenly), ids Zipf(s=1)
by rank = floor(n^u), u ~ U(0, 1) (p(rank) ~ 1/(rank ln n)), the rank hashed over the table so
hot ids are scattered. Labels come from a planted logistic model,
    z = bias + strength/sqrt(F) * sum_f w_f[id_f],  w_f ~ N(0, 1) (hashed into 2^16 slots),
so the held-out AUC of the trained model can be set against the Bayes AUC of sigma(z).
Each (model, compute dtype, optimizer) is compiled (timed apart), warmed up, then timed over
--steps steps as one jitted lax.scan of the project's train step on random rows of the full
data; --full-epoch also runs one real epoch (experiments.train.make_epoch_fn) when its
extrapolation fits --epoch-budget-s. Dense Adam updates every table row each step: that cost
is the point of the measurement.

    uv run python bench/scale.py --rows 200000 --max-vocab 100000 --steps 20      # CPU smoke
    PYTHONPATH=. python bench/scale.py --full-epoch --json scale.json             # H200
    PYTHONPATH=. python bench/scale.py --compare --compute-dtype float32,bfloat16 \
        --optimizer adam,lazy_adam
    XLA_FLAGS=--xla_force_host_platform_device_count=8 uv run python bench/scale.py \
        --rows 20000 --max-vocab 1000 --batch 512 --data-parallel --shard-embeddings
"""

from __future__ import annotations

import argparse
import datetime
import functools
import itertools
import json
import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from ctr.datasets.device import gather
from ctr.datasets.synthetic import auc
from ctr.features import FeatureSpec, Field
from experiments import train as T
from experiments.configs import ModelConfig, RunConfig, TrainConfig
from experiments.parallel import DataParallel

NUM_FIELDS = 39
HASH = 2654435761  # Knuth's multiplicative hash (mod 2^32)
W_SLOTS = 1 << 16
MODEL_OPTIONS = {"deepfm": {"hidden": [400, 400, 400]}, "dcnv2": {}}  # dcnv2: BARS defaults
DEFAULTS = {"compute_dtype": "float32", "optimizer": "adam"}  # passed only when changed
GIB = 2**30


def vocab_sizes(max_vocab: int, multiple: int) -> list[int]:
    base = np.geomspace(10, max_vocab, NUM_FIELDS).round().astype(int) + 2  # + PAD, OOV
    return [int(-(-v // multiple) * multiple) for v in base]


def make_spec(vocabs: list[int], dim: int = 10) -> FeatureSpec:
    fields = [Field(name=f"C{i + 1}", kind="categorical", vocab_size=v, embedding_dim=dim)
              for i, v in enumerate(vocabs)]  # fmt: skip
    return FeatureSpec(fields=tuple(fields))


@functools.partial(jax.jit, static_argnames="rows")
def _field(data_key, model_key, vocab, rows: int):
    """ids (rows,) int32 in [2, vocab) and their planted first-order weights."""
    n = (vocab - 2).astype(jnp.uint32)
    u = jax.random.uniform(data_key, (rows,))
    rank = jnp.floor(jnp.exp(u * jnp.log(n.astype(jnp.float32)))).astype(jnp.uint32)
    ids = 2 + (rank * jnp.uint32(HASH)) % n
    w = jax.random.normal(model_key, (W_SLOTS,))[ids % W_SLOTS]
    return ids.astype(jnp.int32), w


@jax.jit
def _label(key, z):
    prob = jax.nn.sigmoid(z)
    return jax.random.bernoulli(key, prob).astype(jnp.float32), prob


def build(spec: FeatureSpec, rows: int, seed: int, split: int, strength=1.0, bias=-1.3) -> dict:
    """One split (split 0: train, 1: held out) on the default device; the planted model depends
    on the seed only."""
    data_key = jax.random.fold_in(jax.random.PRNGKey(seed), split + 1)
    model_key = jax.random.PRNGKey(seed)
    data, z = {}, jnp.full((rows,), bias, jnp.float32)
    for i, f in enumerate(spec.fields):
        ids, w = _field(jax.random.fold_in(data_key, i), jax.random.fold_in(model_key, i),
                        jnp.int32(f.vocab_size), rows=rows)  # fmt: skip
        data[f.name], z = ids, z + strength / math.sqrt(len(spec.fields)) * w
    data["label"], data["prob"] = _label(jax.random.fold_in(data_key, 10_000), z)
    return data


def nbytes(tree) -> int:
    return sum(math.prod(x.shape) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(tree))


def memory(key: str):
    stats = jax.local_devices()[0].memory_stats() or {}
    return stats.get(key)


def plan(args, spec, ndev: int) -> dict:
    """Bytes per device of data, params, Adam state, dense grads, from shapes only."""
    cfg = RunConfig(model=ModelConfig(name=args.models[0], options=MODEL_OPTIONS[args.models[0]]))
    model, tx = T.build_model(cfg, spec), T.make_optimizer(cfg.train)
    sample = {f.name: jnp.zeros((2,), jnp.int32) for f in spec.fields}
    params = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), sample)["params"])
    emb = 4 * T.param_counts(params)["embedding"]  # f32 tables
    shard = ndev if args.shard_embeddings else 1
    p = {
        "data": (args.rows + args.eval_rows) * (NUM_FIELDS + 2) * 4,  # replicated on each device
        "params_embedding": emb // shard,
        "params_other": nbytes(params) - emb,
        "optimizer": nbytes(jax.eval_shape(tx.init, params)) // shard,
    }
    p["grads_dense"] = p["params_embedding"] + p["params_other"]  # a table's grad is dense
    p["total"] = sum(p.values())
    p["device_limit"] = memory("bytes_limit")
    print(f"memory plan per device ({args.models[0]}, adam f32; nothing streams, all resident):")
    for k, v in p.items():
        print(f"  {k:18s} {'unknown' if v is None else f'{v / GIB:8.3f} GiB'}")
    if p["device_limit"] and p["total"] > 0.95 * p["device_limit"]:
        need, have = p["total"] / GIB, p["device_limit"] / GIB
        raise SystemExit(f"{need:.1f} GiB will not fit in {have:.1f} GiB and this benchmark "
                         "does not stream: lower --rows or --max-vocab")  # fmt: skip
    return p


def make_chunk(step, batch: int, steps: int, constrain):
    """chunk(states_N, data, key) -> (states_N, losses NxS): `steps` steps on random rows."""

    def one(state, data, key):
        n = data["label"].shape[0]
        idx_SxB = jax.random.randint(key, (steps, batch), 0, n, jnp.int32)
        mask_SxB = jnp.ones((steps, batch), jnp.float32)
        body = lambda st, xs: step(st, constrain(gather(data, *xs)))  # noqa: E731
        st, m = jax.lax.scan(body, state, (idx_SxB, mask_SxB))
        return st, m["loss"]

    return jax.jit(jax.vmap(one, in_axes=(0, None, None)), donate_argnums=0)


def timed(fn):
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    return time.perf_counter() - start, out


def run_one(args, spec, data, holdout, place, constrain, name, dtype, opt) -> dict:
    extra = {k: v for k, v in (("compute_dtype", dtype), ("optimizer", opt)) if v != DEFAULTS[k]}
    tcfg = TrainConfig(batch_size=args.batch, **extra)
    cfg = RunConfig(model=ModelConfig(name=name, options=MODEL_OPTIONS[name]), train=tcfg)
    model = T.build_model(cfg, spec)
    # lazy_adam bounds its touched rows by the spec; the plain call works before it lands
    tx = T.make_optimizer(tcfg, spec) if "optimizer" in extra else T.make_optimizer(tcfg)
    step = T.make_train_step(model, tx, tcfg)
    sample = gather(data, jnp.arange(2), jnp.ones(2))
    state = T.init_state(model, tx, jax.random.PRNGKey(args.seed), sample)
    states = place(jax.tree.map(lambda x: x[None], state), "state")
    del state
    key = jax.random.PRNGKey(args.seed + 1)
    chunk = make_chunk(step, args.batch, args.steps, constrain)
    compile_s, compiled = timed(lambda: chunk.lower(states, data, key).compile())
    mem = compiled.memory_analysis()
    arg, out, alias, temp = (getattr(mem, f"{k}_size_in_bytes", 0)
                             for k in ("argument", "output", "alias", "temp"))  # fmt: skip
    r = {"model": name, "dtype": dtype, "optimizer": opt, "compile_s": compile_s,
         "temp_bytes": temp, "program_bytes": arg + out - alias + temp}  # fmt: skip
    print(f"{name}/{dtype}/{opt}: compiled in {compile_s:.1f}s; XLA: temporaries (activations, "
          f"grads, updates) {temp / GIB:.3f} GiB, program total (data, state, temporaries) "
          f"{r['program_bytes'] / GIB:.3f} GiB")  # fmt: skip
    _, (states, _) = timed(lambda: compiled(states, data, jax.random.fold_in(key, 0)))  # warm-up
    dt, (states, loss_NxS) = timed(lambda: compiled(states, data, jax.random.fold_in(key, 1)))
    epoch_steps = -(-args.rows // args.batch)
    r |= {"ms_step": 1e3 * dt / args.steps, "examples_s": args.steps * args.batch / dt,
          "loss": float(loss_NxS[0, -1]), "epoch_s": epoch_steps * dt / args.steps,
          "epoch": f"extrapolated from {args.steps} steps"}  # fmt: skip
    if args.full_epoch and r["epoch_s"] < args.epoch_budget_s:
        epoch = T.make_epoch_fn(step, args.batch, constrain)
        seeds, lrs = jnp.full((1,), args.seed), jnp.full((1,), tcfg.lr)
        c_s, epoch_c = timed(lambda: epoch.lower(states, data, seeds, 0, lrs).compile())
        r["epoch_s"], (states, _) = timed(lambda: epoch_c(states, data, seeds, 0, lrs))
        r["epoch"], r["epoch_compile_s"] = "measured", c_s
    if args.eval_rows:
        predict = T.make_predict_fn(model, args.batch, **{k: v for k, v in extra.items()
                                                          if k == "compute_dtype"})  # fmt: skip
        r["auc"] = auc(np.asarray(holdout["label"]), np.asarray(predict(states, holdout)[0]))
    r["peak_bytes"] = memory("peak_bytes_in_use")  # the process's peak so far
    return r


def table(rows: list[dict], compare: bool) -> str:
    """One line per row; with `compare`, examples/s and program bytes as ratios vs the first row
    of the same model."""
    lines, base = [], {}
    head = "model   dtype     optimizer  compile_s  ms/step  examples/s  epoch_s  epoch"
    lines.append(
        head + " " * 22 + "prog_GiB  peak_GiB  loss    auc" + "     x_ex/s  x_prog" * compare
    )
    for r in rows:
        lead = f"{r['model']:7s} {r['dtype']:9s} {r['optimizer']:10s}"
        if "error" in r:
            lines.append(f"{lead} ERROR {r['error'][:300]}")
            continue
        peak = (r["peak_bytes"] or math.nan) / GIB
        line = (f"{lead} {r['compile_s']:9.1f} {r['ms_step']:8.2f} {r['examples_s']:11.0f} "
                f"{r['epoch_s']:8.1f}  {r['epoch']:26s} {r['program_bytes'] / GIB:8.2f} "
                f"{peak:9.2f}  {r['loss']:.4f}  {r.get('auc', math.nan):.4f}")  # fmt: skip
        b = base.setdefault(r["model"], r)
        if compare:
            line += (f"  {r['examples_s'] / b['examples_s']:9.2f} "
                     f"{r['program_bytes'] / (b['program_bytes'] or math.nan):7.2f}")  # fmt: skip
        lines.append(line)
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", type=int, default=40_000_000)
    p.add_argument("--eval-rows", type=int, default=1 << 18, help="held-out AUC rows; 0: none")
    p.add_argument("--max-vocab", type=int, default=10_000_000)
    p.add_argument("--models", default="deepfm,dcnv2")
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--steps", type=int, default=200, help="timed steps (one lax.scan)")
    p.add_argument("--full-epoch", action="store_true")
    p.add_argument("--epoch-budget-s", type=float, default=90.0)
    p.add_argument("--compute-dtype", default="float32", help="comma list with --compare")
    p.add_argument("--optimizer", default="adam", help="comma list with --compare")
    p.add_argument("--compare", action="store_true", help="every combination, ratio columns")
    p.add_argument("--data-parallel", action="store_true")
    p.add_argument("--shard-embeddings", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="dump plan, settings and results here")
    args = p.parse_args()
    start = time.perf_counter()
    args.models = args.models.split(",")
    dtypes, opts = args.compute_dtype.split(","), args.optimizer.split(",")
    if (len(dtypes) > 1 or len(opts) > 1) and not args.compare:
        p.error("comma lists of --compute-dtype/--optimizer need --compare")
    ndev = jax.local_device_count() if args.data_parallel else 1
    if args.batch % ndev:
        p.error(f"--batch {args.batch} is not divisible by {ndev} devices")
    env = {"jax": jax.__version__, "device": jax.local_devices()[0].device_kind,
           "devices": jax.local_device_count(),
           "date": datetime.datetime.now().isoformat(timespec="seconds")}  # fmt: skip
    print(" ".join(f"{k}={v}" for k, v in env.items()))
    spec = make_spec(vocab_sizes(args.max_vocab, math.lcm(8, jax.local_device_count())))
    vocabs = [f.vocab_size for f in spec.fields]
    print(f"{args.rows:,} rows x {NUM_FIELDS} fields; vocab {vocabs[0]:,} .. {vocabs[-1]:,}, "
          f"total {sum(vocabs):,}")  # fmt: skip
    mem_plan = plan(args, spec, ndev)
    build_s, (data, holdout) = timed(
        lambda: (build(spec, args.rows, args.seed, 0), build(spec, args.eval_rows, args.seed, 1))
    )
    data.pop("prob")
    bayes = auc(np.asarray(holdout["label"]), np.asarray(holdout["prob"])) if args.eval_rows else 0
    print(f"built on device in {build_s:.1f}s; label rate {float(data['label'].mean()):.3f}; "
          f"held-out Bayes AUC {bayes:.4f}")  # fmt: skip
    place, constrain = (lambda tree, kind: jax.device_put(tree)), (lambda b: b)
    if args.data_parallel:
        dp = DataParallel(shard_embeddings=args.shard_embeddings)
        place, constrain = dp, dp.constrain
        data, holdout = dp(data, "data"), dp(holdout, "data")
    results = []
    for name, dtype, opt in itertools.product(args.models, dtypes, opts):
        try:
            results.append(run_one(args, spec, data, holdout, place, constrain, name, dtype, opt))
        except Exception as e:  # one failing row (OOM, option not landed) keeps the others
            results.append({"model": name, "dtype": dtype, "optimizer": opt, "error": repr(e)})
            print(f"{name}/{dtype}/{opt} failed: {e!r}")
    print(table(results, args.compare))
    print(f"total wall {time.perf_counter() - start:.0f}s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"env": env, "args": vars(args), "plan": mem_plan, "build_s": build_s,
                       "bayes_auc": bayes, "results": results}, f, indent=1)  # fmt: skip


if __name__ == "__main__":
    main()
