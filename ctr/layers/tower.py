"""The MLP tower of DNN-family CTR models, with a residual connection at every layer.

h_0 = input, then one residual layer per width in `hidden` (resnets.residual_stack: the family
merges MLP_k's output into its residual stream), then an optional final Dense(out_dim). With
connection `none` this is the plain published tower (BARS MLP_Block). `norm` ("none" | "bn" |
"ln") at `norm_position` "pre" normalizes what each block reads, at "post" the merged state
(resnets/norm.py); `batch_norm` is the separate BARS in-block BN (Dense -> BN -> act inside
MLP_k). `mask_B` (1 = real row) keeps the padding rows of a ragged batch out of every
BatchNorm's statistics. A fused family (dag) rewires the whole tower as one neuron graph.

`activation_after_merge` places the activation as ResNet v1 does (He et al. 2016, "Deep
Residual Learning for Image Recognition", Fig. 2: the ReLU after the addition): the block is
f_k(x) = BN(W_k x + b_k) without its activation, and the layer is

    h_{k+1} = dropout(act(connection(hist, f_k(h_k))))      (the loop's post-merge function)

so with `none` it is the same plain tower, and with `identity` ReLU(h_k + BN(W_k h_k + b_k)).
Multi-stream families (hyper, mhc) apply act to every stream, as any post-merge function.

`zero_init_residual` starts every block's BN scale γ at 0 (Goyal et al. 2017, "Accurate, Large
Minibatch SGD", §5.1; torchvision's option of that name), so f_k = 0 and each residual layer
starts as act(h_k): the tower's output scale at initialisation no longer grows with depth. It
needs the ResNet v1 placement (an activation inside the branch would see 0 and pass γ no
gradient), BatchNorm, and a residual family (the plain tower would output a constant).
"""

from __future__ import annotations

import flax.linen as nn
import jax

from resnets import ConnectionFactory, MLPTower, residual_stack
from resnets.blocks import MLP
from resnets.blocks.mlp import activate


class Tower(nn.Module):
    hidden: tuple[int, ...]
    connection: ConnectionFactory
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False
    out_dim: int | None = 1  # None returns the last hidden state
    norm: str = "none"
    norm_position: str = "pre"
    activation_after_merge: bool = False
    zero_init_residual: bool = False

    @nn.compact
    def __call__(
        self, x_BxI: jax.Array, *, train: bool = False, mask_B: jax.Array | None = None
    ) -> jax.Array:
        after = self.activation_after_merge
        if after and self.connection.cls.fused:
            raise ValueError(
                f"{self.connection.family} rewires the tower as one neuron graph: it has no merge "
                "to put the activation after; use activation_after_merge=False"
            )
        if self.zero_init_residual:
            check_zero_init_residual(self.connection.family, after)

        def block(i: int, width: int):
            mlp = MLP(width, self.activation, self.dropout, self.batch_norm, activate=not after,
                      zero_bn_scale=self.zero_init_residual, name=f"block_{i}")  # fmt: skip
            return lambda x: mlp(x, train=train, mask_B=mask_B)

        def post(h: jax.Array, i: int) -> jax.Array:
            h = activate(h, self.activation, train=train, mask_B=mask_B, suffix=f"_{i}")
            return nn.Dropout(self.dropout, deterministic=not train)(h)

        tower = MLPTower(tuple(self.hidden), self.activation, self.dropout, self.batch_norm)
        h = residual_stack(
            x_BxI,
            [block(i, w) for i, w in enumerate(self.hidden)],
            self.connection,
            train=train,
            norm=self.norm,
            norm_position=self.norm_position,
            mask_B=mask_B,
            post=post if after else None,
            mlp_tower=None if after else tower,
        )
        return h if self.out_dim is None else nn.Dense(self.out_dim, name="out")(h)


def check_zero_init_residual(family: str, activation_after_merge: bool) -> None:
    """zero_init_residual's requirements on the tower (module docstring) as clear errors; the
    block (resnets/blocks/mlp.py) refuses it without BatchNorm."""
    if not activation_after_merge:
        raise ValueError(
            "zero_init_residual needs activation_after_merge=True: a ReLU inside the branch "
            "would see 0 at initialisation and pass no gradient to the zeroed scale"
        )
    if family == "none":
        raise ValueError(
            "zero_init_residual needs a residual family: the plain tower ('none') would start "
            "as a constant output"
        )
