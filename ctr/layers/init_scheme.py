"""Parameter initialisation schemes: which initial draw each kind of layer gets.

"flax":    every module keeps its own initialisers (nn.Dense: LeCun normal, truncated, var 1/fan_in;
           embeddings N(0, 1e-4^2), ctr/layers/embedding.py).
"fuxictr": FuxiCTR 2.3.9's (BaseModel.reset_parameters): every nn.Linear and nn.Conv1d weight
           (our nn.Dense kernels, DCN's cross vector, CIN's W) is redrawn by
           `torch.nn.init.xavier_normal_`, an untruncated normal with var 2 / (fan_in + fan_out)
           (Glorot & Bengio 2010, eq. 16); biases stay 0, embeddings N(0, 1e-4^2)
           (FeatureEmbeddingDict.init_weights, as ours); FinalMLP's bilinear fusion weight W_xy
           is drawn as FuxiCTR's InteractionAggregation does, xavier_normal_ of a
           (heads * a/heads * b/heads, 1) matrix: var 2 / (1 + a b / heads). Parameters the
           list below does not name (e.g. FiBiNET's bilinear W, PReLU's slope) keep ours.

The scheme is applied after `model.init`: the modules of each listed type are found by
intercepting their calls during init, and their listed parameters are redrawn, so no model or
layer needs an init argument. Layers that the scheme does not list keep their own initialisers.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import traverse_util

from ctr.layers.cin import CINLayer
from ctr.layers.cross import CrossV1
from ctr.layers.finalmlp import BilinearFusion


def _xavier(key: jax.Array, shape: tuple[int, ...], fan_in: int, fan_out: int) -> jax.Array:
    return jnp.sqrt(2.0 / (fan_in + fan_out)) * jax.random.normal(key, shape)


def xavier_normal(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """torch.nn.init.xavier_normal_ of a Linear weight, in flax's (..., fan_in, fan_out) layout
    (leading axes: a stack of layers, e.g. under nn.scan)."""
    return _xavier(key, shape, *shape[-2:])


def xavier_normal_conv1d(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """xavier_normal_ of a kernel-size-1 Conv1d whose input channels are all axes but the last
    (CIN's W, (fields, maps, units): FuxiCTR's Conv1d(fields * maps, units, 1))."""
    return _xavier(key, shape, math.prod(shape[:-1]), shape[-1])


def xavier_normal_column(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """xavier_normal_ of the parameter viewed as a (numel, 1) matrix: fan_in 1, fan_out numel."""
    return _xavier(key, shape, 1, math.prod(shape))


Redraw = dict[type, dict[str, Callable[[jax.Array, tuple[int, ...]], jax.Array]]]
SCHEMES: dict[str, Redraw] = {
    "flax": {},
    "fuxictr": {
        nn.Dense: {"kernel": xavier_normal},
        CrossV1: {"kernel": xavier_normal},  # FuxiCTR CrossInteraction: Linear(W, 1)
        CINLayer: {"kernel": xavier_normal_conv1d},
        BilinearFusion: {"w_xy": xavier_normal_column},
    },
}
INIT_SCHEMES = tuple(SCHEMES)


def check_init_scheme(name: str) -> None:
    if name not in SCHEMES:
        raise ValueError(f"model.init {name!r}; choose from {INIT_SCHEMES}")


def init_with_scheme(model: nn.Module, scheme: str, key: jax.Array, *args, **kwargs) -> dict:
    """model.init(key, *args, **kwargs), then the scheme's redraws (key folded in once more, so
    "flax" returns exactly model.init's variables)."""
    check_init_scheme(scheme)
    redraw = SCHEMES[scheme]
    if not redraw:
        return model.init(key, *args, **kwargs)
    found: dict[tuple[str, ...], dict] = {}

    def record(next_fun, args, kwargs, context):
        for kind, params in redraw.items():
            if isinstance(context.module, kind) and context.method_name == "__call__":
                found[tuple(context.module.scope.path)] = params
        return next_fun(*args, **kwargs)

    with nn.intercept_methods(record):
        variables = model.init(key, *args, **kwargs)
    flat = traverse_util.flatten_dict(variables["params"])
    keys = jax.random.split(jax.random.fold_in(key, 1), len(found))
    for k, path in zip(keys, sorted(found), strict=True):
        for j, (name, draw) in enumerate(sorted(found[path].items())):
            old = flat[(*path, name)]
            flat[(*path, name)] = draw(jax.random.fold_in(k, j), old.shape).astype(old.dtype)
    return {**variables, "params": traverse_util.unflatten_dict(flat)}
