"""Dense Adam vs lazy Adam: one optimizer update of a Criteo-sized embedding table.

The table has --vocab rows x --dim; the gradient is what a batch of --batch x --fields ids
leaves (a scatter-add of random rows into zeros, built once outside the timed step). Each
optimizer step is `tx.update` + `optax.apply_updates`, jitted with params and state donated
(as the trainer's step is), timed after a warm-up, median of --repeats. Prints ms per update
and the ratio dense/lazy. Only jax/optax/numpy and the project are imported, so it runs from a
checkout on PYTHONPATH:

    uv run python bench/lazy_adam.py --vocab 1000000
    PYTHONPATH=. python bench/lazy_adam.py               # 10M rows, on a GPU
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments.optimizers import lazy_adam


def time_update(tx, params, grads, repeats: int) -> float:
    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    step = jax.jit(step, donate_argnums=(0, 1))
    state = tx.init(params)
    params, state = jax.block_until_ready(step(params, state, grads))  # compile + warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        params, state = jax.block_until_ready(step(params, state, grads))
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vocab", type=int, default=10_000_000)
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--fields", type=int, default=39)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()

    n_ids = args.batch * args.fields
    key_p, key_i, key_g = jax.random.split(jax.random.PRNGKey(0), 3)
    ids = jax.random.randint(key_i, (n_ids,), 0, args.vocab)
    g_rows = jax.random.normal(key_g, (n_ids, args.dim))
    grads = {"table_c": jnp.zeros((args.vocab, args.dim)).at[ids].add(g_rows)}
    touched = int(jnp.sum(jnp.any(grads["table_c"] != 0, axis=1)))
    make_params = lambda: {"table_c": 1e-4 * jax.random.normal(key_p, (args.vocab, args.dim))}  # noqa: E731

    inject = optax.inject_hyperparams
    dense = time_update(inject(optax.adam)(learning_rate=1e-3), make_params(), grads, args.repeats)
    lazy_tx = inject(lazy_adam)(learning_rate=1e-3, max_rows={"table_c": n_ids})
    lazy = time_update(lazy_tx, make_params(), grads, args.repeats)

    print(
        f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}"
    )
    print(
        f"table {args.vocab:,} x {args.dim}, batch {args.batch} x {args.fields} ids "
        f"({touched:,} rows touched, bound {min(n_ids, args.vocab):,})"
    )
    print(f"adam      {dense:9.2f} ms/update")
    print(f"lazy_adam {lazy:9.2f} ms/update")
    print(f"ratio adam/lazy_adam: {dense / lazy:.2f}x")


if __name__ == "__main__":
    main()
