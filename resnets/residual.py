"""ResiDual: a post-norm stream and an un-normalised accumulator carried together (Xie et al.
2023, "ResiDual: Transformer with Dual Residual Connections", arXiv 2304.14802, §3; equations as
in the authors' code, microsoft/ResiDual, resi_dual_layers.py).

State S = (x, acc), both h_0 at the start. Layer k (f_k reads the post-norm stream directly):

    x_{k+1}   = LN_k(x_k + f_k(x_k))            the Post-LN stream
    acc_{k+1} = acc_k + f_k(x_k)                the Pre-LN-style sum of every block output
    y         = x_N + LN_out(acc_N)             the readout (the code's alpha = 1)

LN_k is `post_norm` in conn_k, LN_out is `out_norm` in the last layer's connection (the loop
reads out through it; with shared=True both live in the one `conn`). LayerNorms start at unit
scale and zero bias (the paper's choice; its fp16 scale of acc cancels in LN_out and is left
out). The family owns both norms, so the stack's `norm` means only what it means for every
family at "pre": an extra norm inside the branch (f_k(Norm(x_k)); the paper has none, so
norm="none" is ResiDual itself); "post" would normalise x a second time and never acc, and is
refused. A slot's post-merge function (AutoInt's ReLU) applies to x. A 1-wide state (the
wide + deep logit sum) has nothing to normalise (LN of one feature is its bias), so
min_width = 2: such a slot keeps its published sum. Width changes map x and acc by one
bias-free projection (resnets.stream.fit_width). Nothing else is learned.
"""

from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from resnets.stream import StateStream, fit_width


class ResiDualConnection(StateStream):
    """(x, acc) -> (LN_k(x + f(x)), acc + f(x)); readout x_N + LN_out(acc_N) (ResiDual)."""

    min_width: ClassVar[int] = 2

    @classmethod
    def check_stack(cls, *, norm, norm_position):
        if norm != "none" and norm_position == "post":
            raise ValueError(
                "residual normalises after every merge itself (x_{k+1} = LN_k(x_k + f(x_k))): "
                f"norm={norm!r} at norm_position='post' would normalise x twice and never the "
                "accumulator; use norm='none' (ResiDual as published) or norm_position='pre' "
                "(an extra norm inside the branch)"
            )

    def init_step(self, h0):
        return h0, h0

    def read_step(self, state):
        return state[0]

    def write_step(self, state, fx, *, train):
        del train
        x, acc = state
        if x.shape[-1] != fx.shape[-1]:  # one projection for both, as they are summed alike
            x, acc = fit_width(self, jnp.stack([x, acc]), fx.shape[-1])
        return nn.LayerNorm(name="post_norm")(x + fx), acc + fx

    def readout_step(self, state):
        x, acc = state
        return x + nn.LayerNorm(name="out_norm")(acc)

    @nn.nowrap
    def transform(self, state, fn):
        return fn(state[0]), state[1]

    @nn.nowrap
    def current(self, state) -> jax.Array:
        return state[0]  # what the next block reads; the readout needs out_norm's parameters
