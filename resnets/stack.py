"""The one residual loop: every residual slot of every model runs through `run_layers`.

`residual_stack` is what slots call: it resolves the slot's family (a published shortcut for
`none` or for a family that cannot merge states that narrow, a fixed width, a fused tower),
lets the family refuse the stack's norm placement (`check_stack`), builds one connection per
layer (`conn_{i}`, or one shared `conn`) and the stack-level norms in the caller's scope, then
runs the layers:

    S = conn_0.init_state(h_0)
    for each layer k:  x = read(S); S = write(S, f_k(Pre_k(x))); S = transform(S, Post_k)
    h = conn_{L-1}.readout(S)                 (or every layer's readout, `every_layer=True`)

Pre_k is the `norm` at position "pre" (inside the branch), Post_k the `norm` at "post" (after
the merge) followed by the slot's own post-merge function (AutoInt's ReLU, Deep Crossing's
ReLU(BN(.))). On XLA's CPU backend each layer's state is then passed through an exact identity
that makes the compiler store it (`stored_on_cpu`). `run_layers` is the loop alone, for blocks
that build their own connections (TransformerBlock keeps its `conn_attention`/`conn_ffn`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from resnets.factory import ConnectionFactory
from resnets.norm import check_norm, norm_module
from resnets.stream import Stream

Fn = Callable[[jax.Array], jax.Array]


class Layer(NamedTuple):
    block: Fn  # f_k, with its own train/mask arguments closed over
    conn: Stream
    pre: Fn | None = None
    post: Fn | None = None


class MLPTower(NamedTuple):
    """What a fused family (dag) needs to rewire an MLP tower as one graph."""

    hidden: tuple[int, ...]
    activation: str
    dropout: float
    batch_norm: bool


def run_layers(h0: jax.Array, layers: Sequence[Layer], *, train: bool, every_layer: bool = False):
    """The residual loop over `layers`; the last state's readout (or each layer's)."""
    state = layers[0].conn.init_state(h0)
    store = stored_on_cpu()
    outputs = []
    for layer in layers:
        x = layer.conn.read(state)
        state = layer.conn.write(state, layer.block(layer.pre(x) if layer.pre else x), train=train)
        if layer.post is not None:
            state = layer.conn.transform(state, layer.post)
        if store is not None:
            state = layer.conn.transform(state, store)
        layer.conn.record(state)
        if every_layer:
            outputs.append(layer.conn.readout(state))
    return outputs if every_layer else layers[-1].conn.readout(state)


def stored_on_cpu() -> Fn | None:
    """On XLA's CPU backend, h -> h / isfinite(h), so that every layer's state is stored;
    elsewhere None. The division is exact for every value: finite h / 1 is h, ±inf / 0 is ±inf,
    NaN / 0 is NaN (and the gradient of a finite h is 1).

    Why: XLA's CPU fusion pass duplicates cheap elementwise producers into all their consumers.
    A residual stream with a norm in its branch, h_{k+1} = ReLU(h_k + BN(W_k h_k)), is such a
    chain, so no h_k is stored and every fused kernel recomputes the stream from h_0: the step
    grows with depth squared (bench/deep_tower.py). A division is an "expensive" op that the
    pass does not duplicate. Its divisor must be as large as h: XLA turns a division by a
    broadcast scalar into a (cheap, duplicated) multiplication by its reciprocal."""
    if jax.default_backend() != "cpu":
        return None
    return lambda h: h / jnp.isfinite(h).astype(h.dtype)


def slot_factory(
    factory: ConnectionFactory,
    *,
    builtin_shortcut: bool = False,
    fixed_width: bool = False,
    mlp_tower: bool = False,
    width: int | None = None,
    nested: bool = False,
) -> ConnectionFactory:
    """The family a slot really runs: the published shortcut (identity) for a plain family where
    the layer has one, and for a family that cannot merge states of the slot's input `width`
    (its `min_width`; without a shortcut that is an error), concat projected where the width is
    fixed, the family's `nested` options in a stack that is one block of a longer one, and the
    published form where a fused family has no MLP tower to rewire."""
    from resnets import get  # the registry imports this module

    if factory.cls.fused and not mlp_tower:
        factory = get("none", shared=factory.shared)
    if width is not None and width < factory.cls.min_width:
        if not builtin_shortcut:
            raise ValueError(
                f"{factory.family} needs states at least {factory.cls.min_width} wide and this "
                f"slot's state is {width} wide: choose another family for this slot"
            )
        factory = get("identity", shared=factory.shared)
    if builtin_shortcut and factory.cls.plain:
        factory = get("identity", shared=factory.shared)
    if nested:
        factory = factory.replace(**factory.cls.nested)
    return factory.replace(**factory.cls.fixed_width) if fixed_width else factory


def residual_stack(
    h0: jax.Array,
    blocks: Sequence[Fn],
    connection: ConnectionFactory,
    *,
    train: bool,
    norm: str = "none",
    norm_position: str = "pre",
    mask_B: jax.Array | None = None,
    post: Callable[[jax.Array, int], jax.Array] | None = None,
    names: Sequence[str] | None = None,
    builtin_shortcut: bool = False,
    fixed_width: bool = False,
    mlp_tower: MLPTower | None = None,
    every_layer: bool = False,
    nested: bool = False,
):
    """h_0 through `blocks` merged by `connection`; call inside the caller's compact method.

    `post(h, k)` runs after merge k (and after a post norm); `names` are the layers' suffixes
    (`conn_{s}`, `norm_{s}`; default 0..L-1, "" gives `conn`); `mlp_tower` describes the blocks
    when they form an MLP tower, which a fused family then replaces (module `dag`); `nested`
    says the stack is one block of a longer one (a Transformer block).
    """
    check_norm(norm, norm_position)
    factory = slot_factory(
        connection,
        builtin_shortcut=builtin_shortcut,
        fixed_width=fixed_width,
        mlp_tower=mlp_tower is not None,
        width=h0.shape[-1],
        nested=nested,
    )
    factory.cls.check_stack(norm=norm, norm_position=norm_position)
    if not blocks:
        return [] if every_layer else h0
    if factory.cls.fused:
        if every_layer:
            raise ValueError(f"{factory.family} rewires a whole tower: it has no per-layer states")
        return factory.cls.fused_tower(factory, mlp_tower, norm=norm, name="dag")(h0, train=train)
    names = [str(i) for i in range(len(blocks))] if names is None else list(names)
    shared = factory(name="conn") if factory.shared else None
    layers = []
    for k, (block, suffix) in enumerate(zip(blocks, names, strict=True)):
        conn = shared or factory(name=f"conn_{suffix}" if suffix else "conn")
        norm_k = norm_module(norm, name=f"norm_{suffix}" if suffix else "norm")
        apply_norm = None if norm_k is None else _normalizer(norm_k, train, mask_B)
        after = _compose(apply_norm if norm_position == "post" else None, post, k)
        layers.append(Layer(block, conn, apply_norm if norm_position == "pre" else None, after))
    return run_layers(h0, layers, train=train, every_layer=every_layer)


def _normalizer(module: nn.Module, train: bool, mask_B: jax.Array | None) -> Fn:
    from resnets.norm import apply_norm

    return lambda x: apply_norm(module, x, train=train, mask_B=mask_B)


def _compose(first: Fn | None, post: Callable[[jax.Array, int], jax.Array] | None, k: int):
    if post is None:
        return first
    if first is None:
        return lambda h: post(h, k)
    return lambda h: post(first(h), k)


class ResidualStack(nn.Module):
    """`depth` blocks `block(name=...)` merged by `connection` (module form of residual_stack).

    With MLP blocks the stack is an MLP tower, which a fused family (dag) rewires as a whole.
    `mask_B` (1 = real row) keeps padding rows out of BatchNorm statistics (MLP blocks, norms).
    """

    block: Callable[..., nn.Module]
    connection: ConnectionFactory
    depth: int
    norm: str = "none"
    norm_position: str = "pre"

    @nn.compact
    def __call__(self, x, *, train: bool = False, mask_B: jax.Array | None = None):
        from resnets.blocks.mlp import MLP

        if self.depth < 0:
            raise ValueError(f"depth must be >= 0, got {self.depth}")
        probe = self.block(parent=None)
        tower = None
        if isinstance(probe, MLP):
            tower = MLPTower(
                (probe.width,) * self.depth, probe.activation, probe.dropout, probe.batch_norm
            )
        elif self.connection.cls.fused:
            raise ValueError(
                f"{self.connection.family} needs MLP blocks, got {type(probe).__name__}"
            )
        masked = {"mask_B": mask_B} if tower else {}  # MLP blocks hold BN/Dice that skip padding

        def block(i):
            return lambda h: self.block(name=f"block_{i}")(h, train=train, **masked)

        blocks = [block(i) for i in range(self.depth)]
        return residual_stack(
            x,
            blocks,
            self.connection,
            train=train,
            norm=self.norm,
            norm_position=self.norm_position,
            mask_B=mask_B,
            mlp_tower=tower,
        )
