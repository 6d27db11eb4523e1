"""Residual slots of the CTR backbones that are not plain MLP towers.

Built-in shortcuts. Some published layers already carry one: DCN's cross layer
x_{l+1} = x_0 x_l^T w + b + x_l, DCN-V2's x_0 ⊙ (W x_l + b) + x_l, Deep Crossing's residual units
ReLU(x + f(x)), AutoInt's ReLU(attention + W_res x). There the slot's family *replaces* the
shortcut: family `none` keeps the published shortcut (an `identity` merge, which is exactly
x + f(x), or W_res x + f(x) with a bias-free projection when widths differ), so the default
reproduces the paper; `builtin_shortcut=False` with `none` gives the truly plain stack; any other
family (scaled, gated, dense, ...) merges in place of the shortcut.

Towers only. `dag` rewires a whole MLP tower (ctr.layers.tower.Tower); it is not a merge, so in
every other slot it leaves the published form in place (the shortcut where the paper has one).

Fixed width. Cross layers, CIN and attention stacks declare a fixed width, so `concat` runs there
as concat(project=True) (`resnets.fixed_width`).

Wide + deep. Models whose logit is a sum wide + deep (Wide&Deep, xDeepFM, NFM, FiBiNET, AutoInt+,
and the linear + pairwise sum of FFM/FwFM/AFM) treat that sum as one more slot with a built-in
identity shortcut: h = connection([wide], deep) on width-1 states, so `scaled` learns
β·deep + w·wide, `gated` a highway mix, `concat` a learned W[deep, wide]. Their `combine` option
(COMBINE) is checked here, once for all of them: "sum" pins the published sum for every family.
"""

from __future__ import annotations

import flax.linen as nn
import jax

import resnets
from resnets import ConnectionFactory


def slot_factory(
    factory: ConnectionFactory, *, builtin_shortcut: bool = False, fixed_width: bool = False
) -> ConnectionFactory:
    """The factory a slot really uses: the published shortcut for `none`, concat projected."""
    if factory.family == "dag":
        factory = resnets.get("none", shared=factory.shared)
    if builtin_shortcut and factory.family == "none":
        factory = resnets.get("identity", shared=factory.shared)
    return resnets.fixed_width(factory) if fixed_width else factory


COMBINE = ("connection", "sum")  # the family's merge, or always the published sum


class Combine(nn.Module):
    """wide_B + deep_B (published); with a family: connection([wide], deep) on width-1 states."""

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
        factory = slot_factory(self.connection, builtin_shortcut=True, fixed_width=True)
        conn = factory(name="conn")
        return conn([wide_B[:, None]], deep_B[:, None], train=train)[:, 0]
