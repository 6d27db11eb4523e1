"""MLP block f(x) = dropout(act(norm(W x + b))), the branch of a residual MLP tower.

BatchNorm sits between the dense layer and the activation, the placement of BARS/FuxiCTR's
MLP_Block, so the published towers are reproduced exactly. `mask_B` (1 = real row) keeps the
padding rows of a ragged last batch out of the batch statistics; without it every row counts.
This in-block BN is not the stack-level `norm` option (resnets/norm.py), which sits around the
residual merge. Activations: the elementwise ones in ACTIVATIONS plus the learned PReLU (He et
al. 2015) and Dice (Zhou et al. 2018, blocks/dice.py).
"""

from __future__ import annotations

import flax.linen as nn
import jax

from resnets.blocks.dice import Dice
from resnets.norm import batch_norm

ACTIVATIONS = {
    "relu": nn.relu,
    "gelu": nn.gelu,
    "leaky_relu": nn.leaky_relu,
    "tanh": nn.tanh,
    "sigmoid": nn.sigmoid,
}
LEARNED_ACTIVATIONS = ("prelu", "dice")


class MLP(nn.Module):
    """act(BN(W x + b)) with optional BatchNorm and dropout; activate=False stops at BN(W x + b)
    and leaves act and dropout to the caller (ResNet v1 applies them after the merge).
    zero_bn_scale starts BN's γ at 0, so the block outputs 0 at initialisation."""

    width: int
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False
    activate: bool = True
    zero_bn_scale: bool = False

    @nn.compact
    def __call__(
        self, x: jax.Array, *, train: bool = False, mask_B: jax.Array | None = None
    ) -> jax.Array:
        check_activation(self.activation)
        if self.zero_bn_scale and not self.batch_norm:
            raise ValueError(
                "zero_bn_scale (a tower's zero_init_residual) starts BatchNorm's scale at 0: "
                "it needs batch_norm=True"
            )
        y = nn.Dense(self.width)(x)
        if self.batch_norm:
            y = batch_norm(y, train=train, mask_B=mask_B, zero_scale=self.zero_bn_scale)
        if not self.activate:
            return y
        y = activate(y, self.activation, train=train, mask_B=mask_B)
        return nn.Dropout(self.dropout, deterministic=not train)(y)


def check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS and activation not in LEARNED_ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; "
            f"choose from {sorted(ACTIVATIONS) + list(LEARNED_ACTIVATIONS)}"
        )


def activate(
    y: jax.Array, activation: str, *, train: bool, mask_B: jax.Array | None, suffix: str = ""
) -> jax.Array:
    """activation(y); a learned one (PReLU, Dice) is created in the calling module's scope as
    `prelu{suffix}` / `dice{suffix}`. Call from inside a compact method."""
    if activation == "prelu":
        return nn.PReLU(name=f"prelu{suffix}")(y)
    if activation == "dice":
        return Dice(name=f"dice{suffix}")(y, train=train, mask_B=mask_B)
    return ACTIVATIONS[activation](y)
