"""The residual stream contract every family implements (DESIGN.md, "resnets").

A residual stack of depth L carries a state S (a pytree) from layer to layer:

    S_0 = init_state(h_0)              # e.g. [h_0], or h_0 copied into n streams
    x_k = read(S_k)                    # what block k reads
    S_{k+1} = write(S_k, f_k(x_k))     # merge the block output into the state
    h = readout(S_L)                   # what leaves the stack

plus `transform(S, fn)`, which applies fn to the part of S that is the layer's output state
h_{k+1} (post-norm, and the post-merge activations of published layers such as AutoInt's ReLU
or Deep Crossing's ReLU(BN(.))), so the caller's modules run in the caller's scope, and
`current(S)`, a parameter-free view of the state after a layer at the stack's width, which the
loop records as `intermediates/<conn>/state` when that collection is mutable (per-layer
analysis, causality tests) and which costs nothing otherwise.

`Stream` is the 2015-2020 special case: S = hist = [h_0, ..., h_k], read = readout = hist[-1],
write(S, fx) = S + [merge(hist, fx)], where a family's `__call__(hist, fx, *, train)` is its
merge. Families with their own state (several streams, a second accumulator, attention over
depth) derive from `StateStream` and implement the four `*_step` methods; each step runs
inside the module's one compact method, so any of them may create parameters.

Class-level facts the rest of the code reads instead of testing family names:
  plain        no shortcut at all (`none`): slots with a published shortcut substitute it, and
               zero-initialised output projections stay random (a zero plain branch is dead);
  fused        the family replaces a whole MLP tower (dag's neuron graph) rather than merging
               layer by layer; in slots that are not MLP towers the published form stays;
  min_width    the narrowest state the family can merge (ResiDual: 2, a LayerNorm over one
               feature is a constant); a narrower slot with a built-in shortcut (the 1-wide
               wide+deep sum) keeps the shortcut, any other raises;
  fixed_width  options that keep the width when a slot needs it (concat: project=True);
  nested       options for a stack that is one block of a longer one (each Transformer block
               is its own stack): its readout must keep the scale (hyper: the streams' mean);
  renamed      old option names still read from stored configs, {old: new};
  shared_note  what `shared=True` needs, for `resctr families` (checked by `check_options`);
  learned      parameter leaf names worth logging (resnets.summary reads them by path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import flax.linen as nn
import jax

State = Any  # a pytree


class Stream(nn.Module):
    """History families: S = [h_0..h_k]; subclasses define `__call__(hist, fx, *, train)`."""

    plain: ClassVar[bool] = False
    fused: ClassVar[bool] = False
    min_width: ClassVar[int] = 1
    fixed_width: ClassVar[dict[str, Any]] = {}
    nested: ClassVar[dict[str, Any]] = {}
    renamed: ClassVar[dict[str, str]] = {}
    shared_note: ClassVar[str] = ""
    learned: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def check_options(cls, options: dict[str, Any], *, shared: bool) -> None:
        """Checks that need several options at once (ValueError); single options are checked
        where they are used."""

    @classmethod
    def check_stack(cls, *, norm: str, norm_position: str) -> None:
        """Reject a stack-level norm placement the family cannot take (ValueError); the loop
        calls it once per stack."""

    def init_state(self, h0: jax.Array) -> State:
        return [h0]

    def read(self, state: State) -> jax.Array:
        return state[-1]

    def write(self, state: State, fx: jax.Array, *, train: bool = False) -> State:
        return [*state, self(state, fx, train=train)]

    def readout(self, state: State) -> jax.Array:
        return state[-1]

    @nn.nowrap  # fn builds the caller's modules: they must bind to the caller, not to self
    def transform(self, state: State, fn: Callable[[jax.Array], jax.Array]) -> State:
        return [*state[:-1], fn(state[-1])]

    @nn.nowrap
    def current(self, state: State) -> jax.Array:
        return state[-1]

    def record(self, state: State) -> None:
        """Sows `current(state)` as this connection's "state" when intermediates are wanted."""
        if self.is_mutable_collection("intermediates"):
            self.sow("intermediates", "state", self.current(state))


class StateStream(Stream):
    """Families with their own state: `init_step`, `read_step`, `write_step`, `readout_step`
    and `transform` define the contract; the compact `__call__` only dispatches to them."""

    @nn.compact
    def __call__(self, step: str, *args, **kwargs):
        return getattr(self, f"{step}_step")(*args, **kwargs)

    def init_state(self, h0):
        return self("init", h0)

    def read(self, state):
        return self("read", state)

    def write(self, state, fx, *, train=False):
        return self("write", state, fx, train=train)

    def readout(self, state):
        return self("readout", state)

    def init_step(self, h0):
        raise NotImplementedError

    def read_step(self, state):
        raise NotImplementedError

    def write_step(self, state, fx, *, train):
        raise NotImplementedError

    def readout_step(self, state):
        raise NotImplementedError

    @nn.nowrap
    def transform(self, state, fn):
        raise NotImplementedError

    @nn.nowrap
    def current(self, state):
        raise NotImplementedError


def fit_width(module: nn.Module, x: jax.Array, width: int, name: str = "projection") -> jax.Array:
    """x itself, or P·x with a learned bias-free P when the block output is `width` wide
    (He et al. 2016, eq. 2, option B). Call from inside the module's compact method."""
    if x.shape[-1] == width:
        return x
    return nn.Dense(width, use_bias=False, name=name)(x)
