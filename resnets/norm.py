"""Normalization placement around a residual merge: none / BatchNorm / LayerNorm, pre or post.

  pre  (inside the branch; He et al. 2016, "Identity Mappings in Deep Residual Networks";
        Xiong et al. 2020, "On Layer Normalization in the Transformer Architecture"):
        h_{k+1} = conn(hist, f(Norm_k(h_k)))   the shortcut carries the un-normalized h_k
  post (after the merge; He et al. 2016 ResNet, Vaswani et al. 2017 Transformer):
        h_{k+1} = Norm_k(conn(hist, f(h_k)))   every later layer reads normalized states

This is a stack-level option, distinct from the MLP block's `batch_norm` flag, which is BARS's
in-block BN (Dense -> BN -> act, inside f) and stays as it was. BatchNorm (Ioffe & Szegedy 2015)
uses batch statistics in training and running averages (momentum 0.9, PyTorch's 0.1) in eval;
`mask_B` keeps the padding rows of a ragged last batch out of the statistics. Under jit with a
batch sharded over a mesh, the batch mean is a global reduction, so XLA averages across devices.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax

NORMS = ("none", "bn", "ln")
POSITIONS = ("pre", "post")


def check_norm(norm: str, position: str) -> None:
    if norm not in NORMS:
        raise ValueError(f"norm={norm!r}; choose from {NORMS}")
    if position not in POSITIONS:
        raise ValueError(f"norm_position={position!r}; choose from {POSITIONS}")


def row_mask(mask_B: jax.Array | None, ndim: int) -> jax.Array | None:
    """mask_B (B,) as a boolean that broadcasts over an array of `ndim` axes, rows first (the
    `mask` nn.BatchNorm takes); None (every row real) stays None."""
    return None if mask_B is None else mask_B.reshape(mask_B.shape + (1,) * (ndim - 1)) > 0


def batch_norm(
    x: jax.Array, *, train: bool, mask_B: jax.Array | None, name: str | None = None
) -> jax.Array:
    """nn.BatchNorm over every axis but the last; rows with mask_B == 0 leave the statistics."""
    bn = nn.BatchNorm(use_running_average=not train, momentum=0.9, name=name)
    return bn(x, mask=row_mask(mask_B, x.ndim))


def normalize(
    kind: str, x: jax.Array, *, train: bool, mask_B: jax.Array | None, name: str
) -> jax.Array:
    """Norm_k of the module docstring; call inside a compact method (the module owns it)."""
    if kind == "none":
        return x
    if kind == "ln":
        return nn.LayerNorm(name=name)(x)
    return batch_norm(x, train=train, mask_B=mask_B, name=name)


def residual_layer(
    hist: list[jax.Array],
    block: Callable[[jax.Array], jax.Array],
    conn: nn.Module,
    *,
    norm: str,
    position: str,
    train: bool,
    mask_B: jax.Array | None,
    name: str,
) -> jax.Array:
    """h_{k+1} from hist = [h_0..h_k]: the pre or post form above (`block` is f, closed over)."""
    x = hist[-1]
    if position == "pre":
        x = normalize(norm, x, train=train, mask_B=mask_B, name=name)
    h = conn(hist, block(x), train=train)
    if position == "post":
        h = normalize(norm, h, train=train, mask_B=mask_B, name=name)
    return h


def reject_dag_norm(norm: str) -> None:
    if norm != "none":
        raise ValueError(
            f"dag with norm={norm!r}: the neuron-level dag tower has no per-layer states to "
            "normalize (its neurons are computed in groups); use norm='none' with dag"
        )
