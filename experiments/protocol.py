"""The BARS training protocol (Zhu et al. 2022, "BARS"; FuxiCTR's early stopping), vmapped.

Every epoch: train one pass, evaluate on valid, monitor valid AUC. An epoch improves when it
beats the best by more than `min_delta`; a non-improving epoch multiplies the lr by `lr_decay`
(0.1), not below `min_lr`; `patience` (2) consecutive ones stop the run; training goes on from
the current state, and the best state is kept and reported on valid and test. A NaN/inf loss
ends a run as "diverged". With train.grad_norm_layers each epoch's metrics row also holds the
per-layer gradient norms of its first step (`layer_grad_norm_first`; epoch 1's is the gradient
at initialisation) and their mean over the epoch's steps (`layer_grad_norm`).
Runs that differ only in seed train as one vmapped program; each keeps its own protocol state,
checkpoint and result. Per-epoch data keys are fold_in(seed, epoch), so a resumed run sees the
same permutations as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable

import jax
import numpy as np

import resnets
from ctr.datasets.device import num_steps
from ctr.features import FeatureSpec
from experiments import metrics, train
from experiments.configs import RunConfig, TrainConfig
from experiments.rundir import RunDir

# A checkpoint costs ~0.25 s (Orbax, synchronous), ten times a Frappe training epoch on an H200
# (docs/perf/h200-2026-11-26/peer.json): save at most this often, and always when a run ends
# (its best state is what analysis notebooks restore). A kill loses at most this much training.
CHECKPOINT_EVERY_S = 30.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class StopRule:
    """What makes an epoch better and when a run stops: the BARS rule's knobs. Retrieval runs
    (experiments/retrieval.py) use it with their own monitor and no lr decay."""

    monitor: str
    higher_is_better: bool
    patience: int
    max_epochs: int
    min_delta: float = 0.0
    lr_decay: float = 1.0
    min_lr: float = 0.0

    @classmethod
    def of(cls, t: TrainConfig) -> StopRule:
        return cls(monitor=t.monitor, higher_is_better=t.monitor == "auc", patience=t.patience,
                   max_epochs=t.max_epochs, min_delta=t.min_delta, lr_decay=t.lr_decay,
                   min_lr=t.min_lr)  # fmt: skip


@dataclasses.dataclass
class Protocol:
    lr: float
    best: float | None = None
    best_epoch: int = 0
    best_valid: dict | None = None
    bad_epochs: int = 0
    epoch: int = 0
    status: str = "running"  # running | stopped | max_epochs | diverged
    diverged_step: int | None = None
    train_s: float = 0.0
    examples: int = 0

    def end_epoch(self, valid: dict, rule: StopRule) -> bool:
        """Applies `rule` to this epoch's valid metrics; True when it improved."""
        self.epoch += 1
        value = valid[rule.monitor]
        sign = 1 if rule.higher_is_better else -1
        gain = None if self.best is None else (value - self.best) * sign
        improved = math.isfinite(value) and (gain is None or gain > rule.min_delta)
        if improved:
            self.best, self.best_epoch, self.best_valid, self.bad_epochs = (
                value,
                self.epoch,
                valid,
                0,
            )
        else:
            self.bad_epochs += 1
            self.lr = max(self.lr * rule.lr_decay, rule.min_lr)
        self.settle(rule)
        return improved

    def settle(self, rule: StopRule) -> None:
        """Ends a running protocol its counters have ended: `patience` epochs without improvement
        (stopped), else the epoch cap (max_epochs)."""
        if self.status != "running":
            return
        if self.bad_epochs >= rule.patience:
            self.status = "stopped"
        elif self.epoch >= rule.max_epochs:
            self.status = "max_epochs"


def model_columns(spec: FeatureSpec) -> list[str]:
    return [f.name for f in spec.fields] + [spec.label]


def init_sample(spec: FeatureSpec, split: dict) -> dict:
    """Two rows of `split` in a train batch's layout (mask included): what init traces."""
    sample = {c: np.asarray(split[c][:2]) for c in model_columns(spec)}
    sample["mask"] = np.ones(2, np.float32)
    return sample


def train_runs(
    cfgs: list[RunConfig],
    dirs: list[RunDir],
    spec: FeatureSpec,
    splits: dict,
    *,
    finish: Callable[[RunConfig, RunDir, Protocol, dict | None, dict], None],
    on_epoch: Callable[[int], None] = lambda n: None,
    placement=None,
    checkpoint_every_s: float = CHECKPOINT_EVERY_S,
) -> None:
    """Trains runs that share everything but the seed; `finish(cfg, dir, protocol, test,
    best_params)` is called once per run when it ends. Each run resumes from its checkpoint;
    runs restored at different epochs train as separate vmapped groups."""
    cfg0 = cfgs[0]
    model = train.build_model(cfg0, spec)
    tx = train.make_optimizer(cfg0.train, spec)
    place = placement or (lambda tree, kind: jax.device_put(tree))
    cols = model_columns(spec)
    # eval splits padded to one length: one compiled predict serves valid and test
    evals = [s for s in splits if s != "train"]
    rows = max(len(splits[s][spec.label]) for s in evals)
    data = {s: place({c: _pad(splits[s][c], rows) for c in cols}, "data") for s in evals}
    data["train"] = place({c: splits["train"][c] for c in cols}, "data")
    sample = init_sample(spec, splits["train"])
    init_program = train.make_init_fn(model, tx, sample, cfg0.model.init)
    init = lambda key: jax.device_get(init_program(key))  # noqa: E731
    state_shape = jax.eval_shape(init_program, jax.random.PRNGKey(0))  # its trace is reused
    abstract = {"state": state_shape, "best": state_shape}

    groups: dict[int, list] = {}
    for cfg, d in zip(cfgs, dirs, strict=True):
        restored = d.restore_latest(abstract)
        if restored is None:
            d.truncate_metrics(0)  # rows of an attempt that left no usable checkpoint
            s = init(jax.random.PRNGKey(cfg.seed))
            entry = (cfg, d, s, s, Protocol(lr=cfg.train.lr))
        else:
            tree, meta = restored
            prot = Protocol(**meta)
            d.truncate_metrics(prot.epoch)
            entry = (cfg, d, *jax.device_get((tree["state"], tree["best"])), prot)
        groups.setdefault(entry[4].epoch, []).append(entry)
    consts = train.constants(model, spec, splits["train"], sample)  # e.g. DIN's id counts
    step_fn = train.make_train_step(model, tx, cfg0.train, consts)
    constrain = getattr(placement, "constrain", lambda b: b)
    epoch_fn = train.make_epoch_fn(step_fn, cfg0.train.batch_size, constrain)
    predict = train.make_predict_fn(
        model, cfg0.train.eval_batch_size, consts, compute_dtype=cfg0.train.compute_dtype
    )
    for group in groups.values():
        _train_group(group, spec, splits, data, epoch_fn, predict, place, finish, on_epoch,
                     checkpoint_every_s)  # fmt: skip


def _train_group(
    group, spec, splits, data, epoch_fn, predict, place, finish, on_epoch, checkpoint_every_s
) -> None:
    """Trains one vmapped group; the stacked state lives on the device, a host copy of it and
    of each seed's best state is taken once per epoch (for checkpoints and the best state)."""
    cfgs = [g[0] for g in group]
    dirs = [g[1] for g in group]
    prots: list[Protocol] = [g[4] for g in group]
    states = place(train.stack([g[2] for g in group]), "state")
    best = train.stack([g[3] for g in group])
    seeds = np.array([c.seed for c in cfgs], np.int32)
    n_train = len(data["train"][spec.label])
    steps = num_steps(n_train, cfgs[0].train.batch_size)
    users = splits["valid"][spec.user_field] if spec.user_field else None
    valid_y = splits["valid"][spec.label]
    args = (cfgs, dirs, prots, splits, data, predict, place, spec, finish)
    for i, p in enumerate(prots):  # a run whose protocol ended before the kill: just finish
        if p.status != "running":
            _finish_one(i, best, *args)
    last_save = time.perf_counter()
    while any(p.status == "running" for p in prots):
        epoch = next(p.epoch for p in prots if p.status == "running")  # shared by the running
        lrs = np.array([p.lr for p in prots], np.float32)
        t0 = time.perf_counter()
        states, m = epoch_fn(states, data["train"], seeds, np.int32(epoch), lrs)
        loss_NxS = np.asarray(m["loss"])
        norms_NxSxL = np.asarray(m["layer_grad_norm"]) if "layer_grad_norm" in m else None
        dt = time.perf_counter() - t0
        logits_NxV = np.asarray(predict(states, data["valid"]))[:, : len(valid_y)]
        host = jax.device_get(states)
        improved = np.zeros(len(prots), bool)
        for i, p in enumerate(prots):
            if p.status != "running":
                continue
            p.train_s += dt
            p.examples += n_train
            bad = np.flatnonzero(~np.isfinite(loss_NxS[i]))
            if bad.size:
                p.status, p.diverged_step = "diverged", epoch * steps + int(bad[0]) + 1
                p.epoch += 1
                dirs[i].append_metrics({"epoch": p.epoch, "status": "diverged"})
                continue
            valid = metrics.evaluate(valid_y, logits_NxV[i], users)
            row = {"lr": p.lr, "train_loss": float(loss_NxS[i].mean())}  # the lr it trained at
            if norms_NxSxL is not None:  # per layer: the epoch's first step, the epoch mean
                row["layer_grad_norm_first"] = norms_NxSxL[i, 0].tolist()
                row["layer_grad_norm"] = norms_NxSxL[i].mean(axis=0).tolist()
            improved[i] = p.end_epoch(valid, StopRule.of(cfgs[i].train))
            row = {"epoch": p.epoch, **row}
            row |= {f"valid_{k}": v for k, v in valid.items()}
            row |= connection_scalars(train.unstack(host.params, i), small=True)
            dirs[i].append_metrics(row)
        best = jax.tree.map(functools.partial(_where, improved), host, best)
        due = time.perf_counter() - last_save >= checkpoint_every_s
        for i, p in enumerate(prots):
            if p.epoch == epoch + 1:  # this run trained this epoch
                if due or p.status != "running":
                    tree = {"state": train.unstack(host, i), "best": train.unstack(best, i)}
                    dirs[i].save(p.epoch, tree, dataclasses.asdict(p))
                if p.status != "running":
                    _finish_one(i, best, *args)
        last_save = time.perf_counter() if due else last_save
        on_epoch(epoch + 1)


def _pad(column: np.ndarray, rows: int) -> np.ndarray:
    """Pads with copies of row 0 (valid ids); the padded predictions are cut off on the host."""
    extra = rows - len(column)
    return np.concatenate([column, np.repeat(column[:1], extra, axis=0)]) if extra else column


def _where(take_N: np.ndarray, new: np.ndarray, old: np.ndarray) -> np.ndarray:
    return np.where(take_N.reshape((-1,) + (1,) * (new.ndim - 1)), new, old)


def _finish_one(i, best, cfgs, dirs, prots, splits, data, predict, place, spec, finish) -> None:
    test = None
    best_i = train.unstack(best, i)
    if "test" in data and prots[i].best is not None:
        one = place(jax.tree.map(lambda x: x[None], best_i), "state")
        y = splits["test"][spec.label]
        logits = np.asarray(predict(one, data["test"]))[0, : len(y)]
        users = splits["test"][spec.user_field] if spec.user_field else None
        test = metrics.evaluate(y, logits, users)
    finish(cfgs[i], dirs[i], prots[i], test, best_i.params)


def connection_scalars(params, small: bool = False) -> dict:
    """Learned connection scalars (resnets.connection_summary) as lists, by parameter path."""
    out = {}
    for k, v in resnets.connection_summary(params).items():
        a = np.asarray(v)
        if not small or a.size <= 64:
            out[f"conn/{k}"] = a.tolist()
    return out
