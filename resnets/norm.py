"""Normalization placement around a residual merge: none / BatchNorm / LayerNorm, pre or post.

resnets.stack places them: `norm_module` builds Norm_k in the slot's scope, `apply_norm` runs it.

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
    x: jax.Array,
    *,
    train: bool,
    mask_B: jax.Array | None,
    name: str | None = None,
    zero_scale: bool = False,
) -> jax.Array:
    """nn.BatchNorm over every axis but the last; rows with mask_B == 0 leave the statistics.
    zero_scale=True starts its scale γ at 0 (the output is then β = 0 at initialisation)."""
    return apply_norm(_batch_norm_module(name, zero_scale), x, train=train, mask_B=mask_B)


def _batch_norm_module(name: str | None, zero_scale: bool = False) -> nn.BatchNorm:
    scale_init = nn.initializers.zeros if zero_scale else nn.initializers.ones
    return nn.BatchNorm(momentum=0.9, scale_init=scale_init, name=name)


def norm_module(kind: str, *, name: str) -> nn.Module | None:
    """Norm_k of the module docstring as a module bound to the calling scope (None for "none")."""
    if kind == "none":
        return None
    if kind == "ln":
        return nn.LayerNorm(name=name)
    return _batch_norm_module(name)


def apply_norm(
    module: nn.Module, x: jax.Array, *, train: bool, mask_B: jax.Array | None
) -> jax.Array:
    """Runs a `norm_module`: BatchNorm with batch statistics in training, skipping padding rows."""
    if isinstance(module, nn.BatchNorm):
        return module(x, use_running_average=not train, mask=row_mask(mask_B, x.ndim))
    return module(x)
