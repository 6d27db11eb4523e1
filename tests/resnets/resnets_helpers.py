"""Small builders shared by the resnets tests (a uniquely named module: tests/ is no package)."""

from functools import partial

import jax
import jax.numpy as jnp

import resnets
from resnets.blocks import MLP

WIDTH, DEPTH, BATCH = 8, 3, 4


def mlp_stack(family: str, depth: int = DEPTH, activation: str = "relu", shared=False, **opts):
    factory = resnets.get(family, shared=shared, **opts)
    return resnets.ResidualStack(partial(MLP, WIDTH, activation), factory, depth)


def with_blocks(params: dict, other: dict) -> dict:
    """`other` with its block_* parameters replaced by those of `params`."""
    out = dict(other)
    out.update({k: v for k, v in params.items() if k.startswith("block_")})
    return out


def randomize(params: dict, names: tuple[str, ...], seed: int = 0) -> dict:
    """Perturb every leaf whose path contains one of `names` (so oracles are not at init)."""
    leaves, tree = jax.tree_util.tree_flatten_with_path(params)
    key = jax.random.key(seed)
    new = []
    for i, (path, leaf) in enumerate(leaves):
        hit = any(getattr(p, "key", None) in names for p in path)
        noise = 0.5 * jax.random.normal(jax.random.fold_in(key, i), jnp.shape(leaf))
        new.append(leaf + noise if hit else leaf)
    return jax.tree_util.tree_unflatten(tree, new)
