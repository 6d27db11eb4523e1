"""Concatenation shortcut (Huang et al. 2017, "Densely Connected Convolutional Networks", eq. 2).

h_{k+1} = [f(x), x] along the last axis, so the width grows by width(f(x)) per layer; iterated
over a stack, layer k reads [h_0, f_1, ..., f_k]: this *is* DenseNet's connectivity.
project=True: h_{k+1} = W [f(x), x] with a learned W (no bias) back to width(f(x)), for slots
that need a fixed width. We project to width(f(x)) like `identity` does, so a tower's states keep
the widths its blocks declare; in fixed-width slots width(f(x)) == width(x).
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from resnets.stream import Stream


class ConcatConnection(Stream):
    """h_{k+1} = [f(x), x] (width grows); project=True: W [f(x), x] back to width(f(x))."""

    fixed_width = {"project": True}

    project: bool = False

    @nn.compact
    def __call__(self, hist: Sequence[jax.Array], fx: jax.Array, *, train: bool = False):
        del train
        cat = jnp.concatenate([fx, hist[-1]], axis=-1)
        if not self.project:
            return cat
        return nn.Dense(fx.shape[-1], use_bias=False, name="projection")(cat)
