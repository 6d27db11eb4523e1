"""Residual slots of the CTR backbones that are not plain MLP towers.

Every slot runs resnets.residual_stack (the one residual loop); what differs per slot is told
to it as flags, resolved in resnets.stack.slot_factory:

Built-in shortcuts. Some published layers already carry one: DCN's cross layer
x_{l+1} = x_0 x_l^T w + b + x_l, DCN-V2's x_0 ⊙ (W x_l + b) + x_l, Deep Crossing's residual units
ReLU(x + f(x)), AutoInt's ReLU(attention + W_res x). There the slot's family *replaces* the
shortcut: family `none` keeps the published shortcut (an `identity` merge, which is exactly
x + f(x), or W_res x + f(x) with a bias-free projection when widths differ), so the default
reproduces the paper; `builtin_shortcut=False` with `none` gives the truly plain stack; any other
family (scaled, gated, dense, ...) merges in place of the shortcut (`builtin_shortcut`).

MLP towers only. A fused family (`dag`) rewires a whole MLP tower (ctr.layers.tower.Tower); it is
not a merge, so every other slot keeps its published form (the shortcut where the paper has one).

Fixed width. Cross layers, CIN, attention and sequence stacks declare a fixed width
(`fixed_width`), so `concat` runs there as concat(project=True).

Wide + deep. Models whose logit is a sum wide + deep (Wide&Deep, xDeepFM, NFM, FiBiNET, AutoInt+,
and the linear + pairwise sum of FFM/FwFM/AFM) treat that sum as one more slot with a built-in
identity shortcut: a one-layer stack from h_0 = wide whose block outputs deep, on width-1 states,
so `scaled` learns β·deep + w·wide, `gated` a highway mix, `concat` a learned W[deep, wide];
a family that cannot merge 1-wide states (`residual`, its `min_width`) keeps the sum there.
Their `combine` option (COMBINE) is checked here, once for all of them: "sum" pins the published
sum for every family.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from resnets import ConnectionFactory, residual_stack

COMBINE = ("connection", "sum")  # the family's merge, or always the published sum


class Combine(nn.Module):
    """wide_B + deep_B (published); with a family: a one-layer stack from wide that adds deep."""

    connection: ConnectionFactory
    mode: str = "connection"  # one of COMBINE: a model's `combine` option

    def __post_init__(self):
        super().__post_init__()
        # checked on construction, so a model that builds the slot but skips it (AutoInt
        # without a tower) still rejects a typo instead of silently taking the sum
        if self.mode not in COMBINE:
            model = type(self.parent).__name__ if isinstance(self.parent, nn.Module) else "Combine"
            raise ValueError(f"{model}: combine={self.mode!r}; choose from {COMBINE}")

    @nn.compact
    def __call__(self, wide_B: jax.Array, deep_B: jax.Array, *, train: bool = False) -> jax.Array:
        if self.mode == "sum":
            return wide_B + deep_B
        h_Bx1 = residual_stack(
            wide_B[:, None],
            [lambda x: deep_B[:, None]],
            self.connection,
            train=train,
            names=[""],
            builtin_shortcut=True,
            fixed_width=True,
        )
        return h_Bx1[:, 0]
