"""Train and eval steps: pure functions of (state, batch), jitted once, run on the device.

loss = masked mean BCE(logits, y)
       + embedding_l2/2 * sum ||E||^2   (tables: is_embedding_path; FuxiCTR's (lambda/p)||E||_p^p)
       + net_l2/2 * sum ||W||^2          (every other kernel; net_l2_params="all": every other
                                          parameter, as FuxiCTR's net_regularizer)
       + resnets.penalty(sown "losses") (families' L1 on gates/edges)
Adam sits inside optax.inject_hyperparams, so the learning rate is part of the optimizer state
and the protocol's lr decay changes a number, not the compiled program. With grad_clip_norm c
the gradient of the whole loss is first scaled to global L2 norm c when its norm is above c
(PyTorch's clip_grad_norm_, which FuxiCTR's BaseModel.train_step calls with c = 10).
With grad_norm_layers (a regex capturing a layer index from a parameter path) the step also
returns ||∂loss/∂θ_k||_2 per layer k, θ_k = every parameter whose path the regex assigns to k
(the gradient of the whole loss, before clipping); off, the step is the same program as before.
A whole epoch is one `lax.scan` over device-resident data batched by index; seeds that share a
config are vmapped over a stacked state (one program, one result per seed).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

import resnets
from ctr.datasets.device import epoch_indices, gather
from ctr.features import FeatureSpec
from ctr.layers.embedding import TABLE_PREFIX, FeatureEmbedding, is_embedding_path, path_keys
from ctr.layers.init_scheme import init_with_scheme
from ctr.models import MODELS
from experiments.configs import RunConfig, TrainConfig
from experiments.optimizers import lazy_adam, row_bounds


class TrainState(struct.PyTreeNode):
    step: jax.Array
    params: Any
    batch_stats: Any
    opt_state: Any
    rng: jax.Array  # raw uint32 key; step t uses fold_in(rng, t) for dropout


def build_model(cfg: RunConfig, spec: FeatureSpec) -> nn.Module:
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.model.options.items()}
    return MODELS[cfg.model.name](
        spec=spec,
        connection=cfg.connection.factory(),
        embedding_dim=cfg.model.embedding_dim,
        **options,
    )


def make_optimizer(
    tcfg: TrainConfig, spec: FeatureSpec | None = None
) -> optax.GradientTransformation:
    """tcfg.optimizer by name, after global-norm clipping when tcfg.grad_clip_norm > 0.
    lazy_adam's row bounds come from `spec` (batch x id slots per table); without it every table
    takes lazy_adam's dense path (same result, dense cost)."""
    bounds = row_bounds(spec, tcfg.batch_size) if spec is not None else {}
    if tcfg.grad_clip_norm > 0:
        clip = optax.clip_by_global_norm(tcfg.grad_clip_norm)

        def clipped(learning_rate):
            if tcfg.optimizer == "lazy_adam":
                return optax.chain(clip, lazy_adam(learning_rate, max_rows=bounds))
            return optax.chain(clip, optax.adam(learning_rate))

        return optax.inject_hyperparams(clipped)(learning_rate=tcfg.lr)
    if tcfg.optimizer == "lazy_adam":
        return optax.inject_hyperparams(lazy_adam)(learning_rate=tcfg.lr, max_rows=bounds)
    return optax.inject_hyperparams(optax.adam)(learning_rate=tcfg.lr)


def init_state(
    model: nn.Module, tx, seed_key: jax.Array, sample: dict, init_scheme: str = "flax"
) -> TrainState:
    """Fresh state of one seed; `init_scheme` (ModelConfig.init) as ctr/layers/init_scheme.py."""
    init_key, rng = jax.random.split(seed_key)
    variables = init_with_scheme(model, init_scheme, init_key, sample, train=False)
    params = variables["params"]
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        params=params,
        batch_stats=variables.get("batch_stats", {}),
        opt_state=tx.init(params),
        rng=rng,
    )


# A run's state comes from one init program built at XLA's -O0: it runs once, and optimising
# its dozens of RNG kernels (a threefry per parameter and key fold) costs seconds that -O0 skips
# (BARS DeepFM, 2-core CPU: 3.9 s optimised, 1.2 s at -O0, 7.6 s eager op by op; bench/init.py).
# Its values equal the optimised build's to ~1 ulp. The persistent compile cache keeps it.
INIT_COMPILER_OPTIONS = {"xla_backend_optimization_level": 0}


def make_init_fn(model: nn.Module, tx, sample: dict, init_scheme: str = "flax"):
    """init(seed_key) -> TrainState, one jitted program (init_state's)."""
    return jax.jit(
        lambda key: init_state(model, tx, key, sample, init_scheme),
        compiler_options=INIT_COMPILER_OPTIONS,
    )


def constants(model: nn.Module, spec: FeatureSpec, split: dict, sample: dict) -> dict:
    """Non-trained collections a model reads, filled from the train split.

    "counts" (DIN's mini-batch aware regularizer, eq. 4 of Zhou et al. 2018): `table_<name>`
    holds n_j, the occurrences of id j in the train split's fields that share that table, so
    row j is penalised by 1/n_j. ("params" and "batch_stats" live in the state, "losses" are
    sown afresh every step.)
    """
    shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), sample, train=False))
    if "counts" not in shapes:
        return {}
    counts = {}
    for key, shape in shapes["counts"].items():
        table = key.removeprefix(TABLE_PREFIX)
        ids = [
            np.ravel(split[f.name]) for f in spec.fields if f.kind != "numeric" and f.table == table
        ]
        counts[key] = np.bincount(np.concatenate(ids), minlength=shape.shape[0]).astype(np.float32)
    return {"counts": counts}


def learning_rate(state: TrainState) -> jax.Array:
    return state.opt_state.hyperparams["learning_rate"]


def with_learning_rate(state: TrainState, lr) -> TrainState:
    hp = dict(state.opt_state.hyperparams)
    hp["learning_rate"] = jnp.asarray(lr, hp["learning_rate"].dtype).reshape(
        hp["learning_rate"].shape
    )
    return state.replace(opt_state=state.opt_state._replace(hyperparams=hp))


def l2_terms(params, net_params: str = "kernels") -> tuple[jax.Array, jax.Array]:
    """(sum of squared embedding tables, sum of squared non-embedding kernels, or with
    net_params="all" of every non-embedding parameter)."""
    emb = jnp.zeros(())
    net = jnp.zeros(())
    for path, leaf in jax.tree_util.tree_leaves_with_path(params):
        keys = path_keys(path)
        if is_embedding_path(keys):
            emb = emb + jnp.sum(jnp.square(leaf))
        elif net_params == "all" or keys[-1] == "kernel":
            net = net + jnp.sum(jnp.square(leaf))
    return emb, net


TARGET_COLUMNS = ("label", "mask", "prob")  # never cast: the loss and metrics read them in f32


def cast_floating(tree, dtype):
    """Floating leaves of `tree` as `dtype` (a no-op for f32 leaves and float32); ids untouched."""
    return jax.tree.map(
        lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree
    )


def compute_params(params, dtype):
    """Mixed precision casts in the step (Micikevicius et al. 2018; as jmp does): the model runs
    on `dtype` copies of the f32 master params, the gradient flows back through the cast.

    Embedding tables are not cast: a cast copy of a 10M-row table per step, and the scatter-add
    of its gradient in bf16, made Criteo-sized bf16 steps 5x slower than f32 on an H200
    (docs/perf/h200-2026-11-26/scale_compare.log). `lookups_in` casts the looked-up rows instead.
    batch_stats are never cast (flax BN keeps its statistics in f32), so the state's dtypes
    never change; logits are cast back to f32 for the loss and metrics.
    """

    def cast(path, x):
        keys = path_keys(path)
        return x if is_embedding_path(keys) else cast_floating(x, dtype)

    return jax.tree_util.tree_map_with_path(cast, params)


def lookups_in(dtype):
    """Context in which FeatureEmbedding's outputs (looked-up rows, and whole tables read by
    sequence layers through `.table`) come out in `dtype`; a no-op context for float32."""
    if jnp.dtype(dtype) == jnp.float32:
        return contextlib.nullcontext()

    def cast_lookups(next_fun, args, kwargs, context):
        out = next_fun(*args, **kwargs)
        if isinstance(context.module, FeatureEmbedding) and context.method_name != "setup":
            return cast_floating(out, dtype)
        return out

    return nn.intercept_methods(cast_lookups)


def compute_batch(batch: dict, dtype) -> dict:
    return {k: v if k in TARGET_COLUMNS else cast_floating(v, dtype) for k, v in batch.items()}


def layer_groups(params, pattern: str) -> list[list[tuple[str, ...]]]:
    """Parameter paths grouped by the layer index the regex's group captures from "a/b/c"
    (sorted by index; indices need not be contiguous). No match is an error."""
    groups: dict[int, list] = {}
    for path, _ in jax.tree_util.tree_leaves_with_path(params):
        keys = path_keys(path)
        match = re.search(pattern, "/".join(keys))
        if match:
            groups.setdefault(int(match.group(1)), []).append(keys)
    if not groups:
        names = ["/".join(path_keys(p)) for p, _ in jax.tree_util.tree_leaves_with_path(params)]
        raise ValueError(
            f"train.grad_norm_layers {pattern!r} matches no parameter; paths look like {names[:4]}"
        )
    return [groups[k] for k in sorted(groups)]


def layer_grad_norms(grads, pattern: str) -> jax.Array:
    """(L,) the L2 norm of each layer's gradient, layers as `layer_groups`."""
    flat = {path_keys(p): g for p, g in jax.tree_util.tree_leaves_with_path(grads)}
    return jnp.stack(
        [
            jnp.sqrt(sum(jnp.sum(jnp.square(flat[k].astype(jnp.float32))) for k in group))
            for group in layer_groups(grads, pattern)
        ]
    )


def make_train_step(model: nn.Module, tx, tcfg: TrainConfig, consts: dict | None = None):
    """train_step(state, batch) -> (state, {"loss", "bce"}): pure, for jit/scan/vmap. `consts`
    (from `constants`) are read-only collections passed to every apply. With
    tcfg.grad_norm_layers the metrics also hold "layer_grad_norm" (L,)."""

    def loss_fn(params, state: TrainState, batch: dict):
        variables = {"params": compute_params(params, tcfg.compute_dtype), **(consts or {})}
        if state.batch_stats:
            variables["batch_stats"] = state.batch_stats
        with lookups_in(tcfg.compute_dtype):
            logits_B, updates = model.apply(
                variables,
                compute_batch(batch, tcfg.compute_dtype),
                train=True,
                rngs={"dropout": jax.random.fold_in(state.rng, state.step)},
                mutable=["batch_stats", "losses"],
            )
        logits_B = logits_B.astype(jnp.float32)  # loss and metrics in f32
        mask_B = batch["mask"]
        bce_B = optax.sigmoid_binary_cross_entropy(logits_B, batch["label"])
        bce = jnp.sum(bce_B * mask_B) / jnp.maximum(jnp.sum(mask_B), 1.0)
        emb_sq, net_sq = l2_terms(params, tcfg.net_l2_params)
        loss = (
            bce
            + 0.5 * tcfg.embedding_l2 * emb_sq
            + 0.5 * tcfg.net_l2 * net_sq
            + resnets.penalty(updates.get("losses", {}))
        )
        return loss, (bce, updates.get("batch_stats", state.batch_stats))

    def train_step(state: TrainState, batch: dict):
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        (loss, (bce, batch_stats)), grads = grad_fn(state.params, state, batch)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        new = state.replace(
            step=state.step + 1,
            params=optax.apply_updates(state.params, updates),
            batch_stats=batch_stats,
            opt_state=opt_state,
        )
        metrics = {"loss": loss, "bce": bce}
        if tcfg.grad_norm_layers:
            metrics["layer_grad_norm"] = layer_grad_norms(grads, tcfg.grad_norm_layers)
        return new, metrics

    return train_step


def make_epoch_fn(train_step, batch_size: int, constrain=lambda batch: batch):
    """epoch(states_N, data, seeds_N, epoch, lrs_N) -> (states_N, {"loss": NxS, "bce": NxS}
    and, when the step returns it, "layer_grad_norm": NxSxL}).

    One jitted program: every stacked state gets its lr, draws its permutation from
    fold_in(PRNGKey(seed), epoch) and scans over its batches; data is shared. `constrain` lets
    data-parallel mode pin the batch's sharding.
    """

    def one(state, data, seed, epoch, lr):
        n = next(iter(data.values())).shape[0]
        key = jax.random.fold_in(jax.random.PRNGKey(seed), epoch)
        idx_SxB, mask_SxB = epoch_indices(key, n, batch_size)

        def body(st, xs):
            return train_step(st, constrain(gather(data, *xs)))

        return jax.lax.scan(body, with_learning_rate(state, lr), (idx_SxB, mask_SxB))

    return jax.jit(jax.vmap(one, in_axes=(0, None, 0, None, 0)), donate_argnums=0)


def make_predict_fn(
    model: nn.Module, batch_size: int, consts: dict | None = None, compute_dtype: str = "float32"
):
    """predict(states_N, data) -> f32 logits N x rows, one jitted scan over the split."""

    def one(state, data):
        n = next(iter(data.values())).shape[0]
        idx_SxB, mask_SxB = epoch_indices(None, n, batch_size)
        variables = {"params": compute_params(state.params, compute_dtype), **(consts or {})}
        if state.batch_stats:
            variables["batch_stats"] = state.batch_stats

        def body(carry, xs):
            batch = compute_batch(gather(data, *xs), compute_dtype)
            with lookups_in(compute_dtype):
                logits_B = model.apply(variables, batch, train=False)
            return carry, logits_B.astype(jnp.float32)

        _, logits_SxB = jax.lax.scan(body, None, (idx_SxB, mask_SxB))
        return logits_SxB.reshape(-1)[:n]

    return jax.jit(jax.vmap(one, in_axes=(0, None)))


def stack(trees: list) -> Any:
    """Host-side stack of per-seed trees (numpy) into one N-leading tree."""
    return jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *trees)


def unstack(tree, i: int) -> Any:
    return jax.tree.map(lambda x: x[i], tree)


def param_counts(params) -> dict[str, int]:
    emb = other = 0
    for path, leaf in jax.tree_util.tree_leaves_with_path(params):
        keys = path_keys(path)
        if is_embedding_path(keys):
            emb += int(np.prod(leaf.shape))
        else:
            other += int(np.prod(leaf.shape))
    return {"embedding": emb, "other": other}
