"""Next-item retrieval runs on leave-last-out data (experiments/retrieval_data.py), evaluated
over the full item set with the user's history excluded (experiments/retrieval_metrics.py).

A run is a folder like a CTR run (experiments/rundir.py): config.json, metrics.jsonl (one row per
epoch: train loss, valid HR/NDCG), ckpt/ (train state, best parameters and the early-stopping
counters every epoch, so a killed run resumes where it stopped), result.json. Each epoch is one
jitted `lax.scan` over full batches of the train rows in the model's form (Settings.rows; the
ragged remainder is left out of that epoch); after it the valid split is ranked on the device.
Prefix rows are shuffled uniformly. Sequence rows (one per user, a target at each real position)
are dealt into *stratified* batches: rows sorted by their number of targets form strata of S =
#batches rows, and each batch takes one random row of every stratum, so every batch holds about
the mean number of targets and at most a fixed bound P of them (`target_bound`). The loss then
runs its softmax over the items on P gathered positions instead of batch * max_len (8x fewer on
Beauty, whose mean train sequence is 5.7 items of max_len 50).

Early stopping on valid NDCG@20 (never on test): stop after `patience` epochs without
improvement or at `max_epochs`; the test split is ranked once, with the best epoch's
parameters. Seeds run one after another (on a CPU a vmap of seeds costs as much, DESIGN.md);
popularity has no parameters and writes its result directly.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ctr.features import PAD_ID
from experiments import retrieval_models
from experiments.protocol import Protocol, StopRule
from experiments.retrieval_data import NextItemData, Split
from experiments.retrieval_metrics import hr_ndcg, make_rank_fn
from experiments.rundir import RunDir
from experiments.runner import environment
from experiments.train import TrainState, param_counts

MONITOR = "NDCG@20"


@dataclasses.dataclass(frozen=True, kw_only=True)
class RetrievalConfig:
    data: str  # the data set's name (the file stem)
    model: str
    seed: int = 0
    max_len: int = 50  # ICLRec's max_seq_length
    max_epochs: int = 50
    patience: int = 5  # epochs without a better valid NDCG@20
    eval_batch: int = 512

    def __post_init__(self):
        if self.model not in retrieval_models.MODELS:
            raise ValueError(f"model {self.model!r}; choose from {retrieval_models.MODELS}")
        if min(self.max_len, self.max_epochs, self.patience, self.eval_batch) < 1:
            raise ValueError(f"{self}: max_len, max_epochs, patience, eval_batch must be >= 1")

    @property
    def run_id(self) -> str:
        return f"{self.data}-{self.model}-seed{self.seed}"

    def to_json(self) -> dict:
        settings = dataclasses.asdict(retrieval_models.SETTINGS[self.model])
        return {**dataclasses.asdict(self), "settings": settings}


def _device_split(split: Split) -> tuple[jax.Array, jax.Array, jax.Array]:
    return jnp.asarray(split.hist_NxL), jnp.asarray(split.target_N), jnp.asarray(split.seen_NxM)


def evaluate(rank_fn, params, split: Split) -> dict[str, float]:
    """HR/NDCG@{5,10,20} with seen items excluded, and the same over all items ("all_" keys)."""
    excluded, everything = rank_fn(params, *_device_split(split))
    out = hr_ndcg(np.asarray(excluded))
    return out | {f"all_{k}": v for k, v in hr_ndcg(np.asarray(everything)).items()}


def popularity(cfg: RetrievalConfig, data: NextItemData) -> dict:
    counts_V = jnp.asarray(data.counts_V)
    rank_fn = make_rank_fn(
        lambda _, hist_BxL: jnp.broadcast_to(counts_V, (hist_BxL.shape[0], len(counts_V))),
        cfg.eval_batch,
    )
    t0 = time.perf_counter()
    valid, test = evaluate(rank_fn, None, data.valid), evaluate(rank_fn, None, data.test)
    return {
        "status": "ok", "best_epoch": 0, "epochs": 0, "valid": valid, "test": test, "params": {},
        "train_s": 0.0, "eval_s": time.perf_counter() - t0,
    }  # fmt: skip


def target_bound(lengths_N: np.ndarray, batch_size: int) -> int:
    """Most targets a stratified batch can hold: the sum of each stratum's longest row. Rows
    left out of an epoch only shorten the strata (the k-th longest kept row is at most the k-th
    longest of all), so the bound holds for every epoch."""
    steps = len(lengths_N) // batch_size
    return int(np.sort(lengths_N)[::-1][::steps][:batch_size].sum())


def make_batch_fn(form: str, lengths_N: np.ndarray, batch_size: int):
    """batches(inputs, targets, key) -> (inputs_SxB.., targets_SxB..) of one epoch, jitted.
    Prefix rows: a uniform shuffle. Sequence rows: stratified batches, each with where_P, the
    flat positions of its targets (all real ones first, then padding up to the bound P)."""
    n = len(lengths_N)
    steps = n // batch_size
    if form == "prefix":

        def batches(inputs, targets, key):
            idx_SxB = jax.random.permutation(key, n)[: steps * batch_size]
            idx_SxB = idx_SxB.reshape(steps, batch_size)
            return inputs[idx_SxB], targets[idx_SxB]

        return jax.jit(batches)
    bound = target_bound(lengths_N, batch_size)
    lengths_N = jnp.asarray(lengths_N)

    def stratified(inputs, targets, key):
        k_keep, k_deal = jax.random.split(key)
        keep = jax.random.permutation(k_keep, n)[: steps * batch_size]
        keep = keep[jnp.argsort(-lengths_N[keep], stable=True)]  # longest first, ties random
        strata_BxS = jax.random.permutation(
            k_deal, keep.reshape(batch_size, steps), axis=1, independent=True
        )
        idx_SxB = strata_BxS.T
        target_SxBxL = targets[idx_SxB]
        pad_SxBL = (target_SxBxL == PAD_ID).reshape(steps, -1)
        where_SxP = jnp.argsort(pad_SxBL, axis=1, stable=True)[:, :bound]  # real ones first
        return inputs[idx_SxB], (target_SxBxL, where_SxP)

    return jax.jit(stratified)


def make_epoch_fn(retriever: retrieval_models.Retriever, tx):
    """epoch(state, batches) -> (state, mean loss): one scan over the batches, state donated."""

    def step(state: TrainState, batch):
        hist_BxL, targets = batch
        key = jax.random.fold_in(state.rng, state.step)
        k_drop, k_loss = jax.random.split(key)

        def loss_fn(params):
            out, table_VxE = retriever.train_module.apply(
                {"params": params}, hist_BxL, train=True, rngs={"dropout": k_drop}
            )
            return retriever.loss(out, table_VxE, targets, k_loss)

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return state.replace(step=state.step + 1, params=params, opt_state=opt_state), loss

    def epoch(state, batches):
        state, loss_S = jax.lax.scan(step, state, batches)
        return state, loss_S.mean()

    return jax.jit(epoch, donate_argnums=0)


def train(cfg: RetrievalConfig, data: NextItemData, rd: RunDir, log=print) -> dict:
    """Trains (or resumes) one run in its folder; returns the result's metric fields."""
    s = retrieval_models.SETTINGS[cfg.model]
    inputs, targets = data.train_rows(s.rows)
    if len(inputs) < s.batch_size:
        raise ValueError(
            f"{cfg.run_id}: {len(inputs)} train rows ({s.rows} form), fewer than one batch of "
            f"{s.batch_size}: use a larger data set"
        )
    retriever = retrieval_models.build(cfg.model, data.num_ids, cfg.max_len)
    tx = optax.adam(s.lr)
    init_key, rng = jax.random.split(jax.random.PRNGKey(cfg.seed))
    params = retriever.module.init(init_key, jnp.asarray(inputs[:2]))["params"]
    state = TrainState(step=jnp.zeros((), jnp.int32), params=params, batch_stats={},
                       opt_state=tx.init(params), rng=rng)  # fmt: skip
    tree = {"state": state, "best_params": params}
    rule = StopRule(monitor=MONITOR, higher_is_better=True, patience=cfg.patience,
                    max_epochs=cfg.max_epochs)  # fmt: skip
    prot = Protocol(lr=s.lr)  # lr_decay 1: the lr stays
    restored = rd.restore_latest(tree)
    if restored is not None:
        tree, meta = restored
        prot = resumed_protocol(meta, s.lr, rule)
        log(f"{cfg.run_id}: resumed after epoch {prot.epoch}")
    rd.truncate_metrics(prot.epoch)
    lengths_N = (targets != PAD_ID).reshape(len(targets), -1).sum(1)
    batch_fn = make_batch_fn(s.rows, lengths_N, s.batch_size)
    epoch_fn = make_epoch_fn(retriever, tx)
    rank_fn = make_rank_fn(lambda p, hist: _scores(retriever, p, hist), cfg.eval_batch)
    inputs, targets = jnp.asarray(inputs), jnp.asarray(targets)
    while prot.status == "running":
        epoch = prot.epoch + 1
        t0 = time.perf_counter()
        key = jax.random.fold_in(jax.random.PRNGKey(cfg.seed), epoch)
        state, loss = epoch_fn(tree["state"], batch_fn(inputs, targets, key))
        loss = float(loss)
        train_s = time.perf_counter() - t0
        if not np.isfinite(loss):  # recorded, and the other runs go on (as the CTR runner)
            log(f"{cfg.run_id}: train loss {loss} in epoch {epoch}: diverged")
            prot.status = "diverged"
            break
        valid = evaluate(rank_fn, state.params, data.valid)
        prot.train_s += train_s
        better = prot.end_epoch(valid, rule)
        # a copy: the next epoch donates the state's buffers
        best = jax.tree.map(jnp.copy, state.params) if better else tree["best_params"]
        tree = {"state": state, "best_params": best}
        row = {"epoch": epoch, "loss": loss, "train_s": train_s, "valid": valid}
        rd.append_metrics(row | {"eval_s": time.perf_counter() - t0 - train_s})
        rd.save(epoch, tree, dataclasses.asdict(prot))
        log(f"{cfg.run_id} epoch {epoch}: loss {loss:.4f} valid {MONITOR} {valid[MONITOR]:.4f} "
            f"HR@20 {valid['HR@20']:.4f} ({train_s:.0f}s train)")  # fmt: skip
    diverged = prot.status == "diverged"
    test = evaluate(rank_fn, tree["best_params"], data.test) if prot.best_epoch else None
    return {"status": "diverged" if diverged else "ok",
            "diverged_epoch": prot.epoch + 1 if diverged else None,
            "best_epoch": prot.best_epoch, "epochs": prot.epoch,
            "valid": prot.best_valid, "test": test, "params": param_counts(tree["best_params"]),
            "train_s": prot.train_s}  # fmt: skip


def resumed_protocol(meta: dict, lr: float, rule: StopRule) -> Protocol:
    """A checkpoint's early-stopping counters. Checkpoints written before retrieval ran on
    `Protocol` (2026-11-30) hold only epoch, best_epoch, best_valid, bad_epochs and train_s:
    their lr is the model's constant one, their best value is read from best_valid, and a run
    killed after its last epoch's checkpoint but before its result ends without training more."""
    if "lr" in meta:
        return Protocol(**meta)
    prot = Protocol(lr=lr, **meta)
    prot.best = None if prot.best_valid is None else prot.best_valid[rule.monitor]
    prot.settle(rule)
    return prot


def check_same_config(rd: RunDir, config_json: dict) -> None:
    """A run folder is named by data, model and seed only, so it must not be reused with other
    settings: its result (or checkpoint) was trained under the stored ones."""
    if not rd.config.exists():
        return
    stored = json.loads(rd.config.read_text())
    wanted = json.loads(json.dumps(config_json))  # tuples as the stored lists
    differ = sorted(k for k in stored.keys() | wanted.keys() if stored.get(k) != wanted.get(k))
    if differ:
        changes = "; ".join(f"{k}: {stored.get(k)!r} there, {wanted.get(k)!r} now" for k in differ)
        raise ValueError(
            f"{rd.root} holds a run with other settings ({changes}): use another --workdir, "
            "or remove the folder to train it again"
        )


def _scores(retriever: retrieval_models.Retriever, params, hist_BxL):
    u_BxE, table_VxE = retriever.module.apply({"params": params}, hist_BxL, train=False)
    return u_BxE @ table_VxE.T


def run(cfg: RetrievalConfig, data: NextItemData, workdir: pathlib.Path, log=print) -> dict:
    """Runs cfg in workdir/run_id unless result.json is there; returns the result."""
    rd = RunDir(pathlib.Path(workdir) / cfg.run_id)
    config_json = {**cfg.to_json(), "data_info": data.info}
    check_same_config(rd, config_json)
    if rd.is_done():
        return json.loads(rd.result.read_text())
    holder = rd.lock()
    if holder is not None:
        raise RuntimeError(f"{rd.root}: another process trains this run ({holder})")
    try:
        rd.start(config_json)
        t0 = time.perf_counter()
        fields = popularity(cfg, data) if cfg.model == "popularity" else train(cfg, data, rd, log)
        result = {
            "run_id": cfg.run_id, "config": cfg.to_json(), "data_info": data.info,
            "monitor": f"valid {MONITOR}", **fields,
            "wall_s": time.perf_counter() - t0,  # this process's part of a resumed run
            **environment(),
        }  # fmt: skip
        rd.write_result(result)
        return result
    finally:
        rd.close()
