"""Lazy (row-sparse) Adam for embedding tables.

Adam (Kingma & Ba 2015, Alg. 1) with the global step t:
    m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
    theta <- theta - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
Lazy Adam (TensorFlow's LazyAdamOptimizer, tf.keras/addons LazyAdam, PyTorch SparseAdam) applies
this only to the rows r of an embedding table whose gradient row g[r] is non-zero; every other
row keeps its m, v and parameters bit for bit. A batch of 4096 touches a few thousand rows of a
10M-row table, so dense Adam's read and write of every row's m and v is wasted work.

Choices, and why:
* Bias correction uses the *global* step t (shared by every row), as TF's LazyAdamOptimizer
  (one beta_power per optimizer) and PyTorch SparseAdam (one step per tensor) do. Per-row step
  counts would need one more vocab-sized state; the cost of the global count is that a row first
  seen at a late step takes a first step about (1 - b1) times Adam's.
* "Touched" means a non-zero gradient row, not "looked up": the optimizer sees only gradients.
  A looked-up row whose gradient is exactly zero (masked padding rows, PAD ids) stays untouched;
  TF/PyTorch, which see the lookup indices, would decay its moments and still move it.
* The embedding L2 term of experiments/train.py, 0.5*l2*||E||^2 over the whole table (as
  FuxiCTR's regularizer does), gives *every* row a non-zero gradient, so lazy Adam would update
  every row, i.e. be dense Adam at a higher price. TrainConfig therefore rejects
  optimizer="lazy_adam" with embedding_l2 > 0. (A per-batch L2 on the looked-up rows only would
  be the lazy counterpart; it is a different regularizer and not what the protocol runs.)
* Static bound: XLA needs a static number K of rows to gather. `max_rows` maps a table's
  parameter name (`table_<name>`) to an upper bound on its touched rows per step (batch size x
  id slots reading it: `row_bounds`); K = min(vocab, bound). Tables without a bound, or whose
  bound reaches their vocabulary, take the dense path with the same lazy semantics (masked
  full-table update), so results never depend on K. If more than K rows do have a non-zero
  gradient (the bound was wrong), the update of that table is not dropped silently: the rows
  written this step are set to NaN, which the protocol records as a diverged run. A lax.cond
  fallback to the dense path would be correct but under jax.vmap over seeds it becomes a select
  that runs both paths on every step.
Non-embedding leaves get exactly optax.adam's update.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ctr.features import TOKEN_KINDS, FeatureSpec
from ctr.layers.embedding import TABLE_PREFIX, is_embedding_path, path_keys


class LazyAdamState(NamedTuple):
    count: jax.Array  # global step, shared by every row and leaf (bias correction)
    mu: Any
    nu: Any


def row_bounds(spec: FeatureSpec, batch_size: int) -> dict[str, int]:
    """`table_<name>` -> batch_size x (id slots per example that read that table): no step can
    touch more rows of it."""
    slots: dict[str, int] = {}
    for f in spec.fields:
        if f.kind != "numeric":
            n = f.max_len if f.kind in TOKEN_KINDS else 1
            slots[TABLE_PREFIX + f.table] = slots.get(TABLE_PREFIX + f.table, 0) + n
    return {name: batch_size * n for name, n in slots.items()}


def _adam(g, m, v, c1, c2, lr, b1, b2, eps):
    """optax.adam's arithmetic, in its order: -> (update, m, v)."""
    m = (1 - b1) * g + b1 * m
    v = (1 - b2) * (g**2) + b2 * v
    u = (m / c1.astype(m.dtype)) / (jnp.sqrt(v / c2.astype(v.dtype)) + eps)
    return (-1 * lr) * u, m, v


def lazy_adam(
    learning_rate,
    b1=0.9,
    b2=0.999,
    eps=1e-8,
    max_rows: Mapping[str, int] | int | None = None,
) -> optax.GradientTransformation:
    """optax.adam, lazy on embedding tables (module docstring). `max_rows`: per-table bound on
    touched rows (a mapping keeps it static under optax.inject_hyperparams); an int applies to
    every table and then needs `inject_hyperparams(lazy_adam, static_args="max_rows")`."""
    if isinstance(max_rows, (jax.Array, np.ndarray)):
        raise TypeError(
            "lazy_adam: max_rows must be a static int or mapping; under optax.inject_hyperparams "
            "pass a mapping or static_args='max_rows'"
        )

    def bound(name: str, vocab: int) -> int:
        k = max_rows.get(name) if isinstance(max_rows, Mapping) else max_rows
        return vocab if k is None else min(vocab, int(k))

    def init(params):
        zeros = lambda p: jax.tree.map(jnp.zeros_like, p)  # noqa: E731
        return LazyAdamState(count=jnp.zeros([], jnp.int32), mu=zeros(params), nu=zeros(params))

    def update(grads, state, params=None):
        del params
        count = optax.safe_increment(state.count)
        c1, c2 = 1 - b1**count, 1 - b2**count
        hp = (c1, c2, learning_rate, b1, b2, eps)

        def leaf(path, g, m, v):
            keys = path_keys(path)
            if not (is_embedding_path(keys) and g.ndim == 2):
                return _adam(g, m, v, *hp)
            vocab = g.shape[0]
            touched_V = jnp.any(g != 0, axis=1)  # the one full read: of the gradient
            k = bound(keys[-1], vocab)
            if k >= vocab:  # dense path, same lazy semantics
                u, m_new, v_new = _adam(g, m, v, *hp)
                t = touched_V[:, None]
                return jnp.where(t, u, 0), jnp.where(t, m_new, m), jnp.where(t, v_new, v)
            # padding slots point past the table: gathers read 0, scatters drop them
            rows_K = jnp.nonzero(touched_V, size=k, fill_value=vocab)[0]
            get = lambda a: a.at[rows_K].get(mode="fill", fill_value=0)  # noqa: E731
            u_KxD, m_KxD, v_KxD = _adam(get(g), get(m), get(v), *hp)
            overflow = jnp.sum(touched_V, dtype=jnp.int32) > k
            u_KxD = jnp.where(overflow, jnp.nan, u_KxD)
            # zeros + scatter-add: XLA folds `params + scatter(0, ...)` into an in-place
            # scatter-add on params, so apply_updates does not rewrite the table either
            u = jnp.zeros_like(g).at[rows_K].add(u_KxD, mode="drop")
            return u, m.at[rows_K].set(m_KxD, mode="drop"), v.at[rows_K].set(v_KxD, mode="drop")

        out = jax.tree_util.tree_map_with_path(leaf, grads, state.mu, state.nu)
        pick = lambda i: jax.tree.map(lambda _, o: o[i], grads, out)  # noqa: E731
        return pick(0), LazyAdamState(count=count, mu=pick(1), nu=pick(2))

    return optax.GradientTransformation(init, update)
