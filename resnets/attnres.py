"""Attention Residuals (Kimi Team 2026, "Attention Residuals", arXiv 2603.15031).

Every block reads a learned mix of the earlier block outputs instead of their unit-weight sum
(§3.1, eq. 2-4):

    x_l = Σ_{i<l} α_{i→l} v_i,   α_{i→l} = softmax_i(w_l · RMSNorm(v_i)),
    v_0 = h_0 (the stack input),  v_i = f_{i-1}(x_{i-1})  (raw block outputs; keys = values)

with one pseudo-query w_l ∈ R^d and one key RMSNorm per layer; the first block reads h_0.
Block AttnRes (§3.2, `block=S`): the outputs are summed within blocks of S layers; the sources
are b_0 = h_0, every completed block b_n = Σ_{j∈B_n} v_j and, when it is not empty, the partial
sum of the open block. `block=1` is Full AttnRes. The stack's output is one more aggregation over
every block, the last possibly partial ("the final output layer aggregates all N block
representations").

Write-time form: write_k adds f_k(x_k) to the open block, closes it after S outputs, and computes
the next read x_{k+1} with instance k's query, so L instances own L queries and the last one's
aggregation is the readout (the paper does not say whether that final aggregation has its own
query; here it has, zero-initialised like the others).

Initialisation (§5): queries 0 (stated as crucial), so every read starts as the mean of its
sources, a scalar multiple of the pre-norm residual state that the block's own pre-norm removes.
Key RMSNorm: learned scale `key_scale` (init 1; w · (γ ⊙ s/rms(s)) = (w ⊙ γ) · s/rms(s), so it
is folded into the query), eps 1e-6 (the paper gives no eps). `shared=True`: one query, key norm
(and bias) for every layer and the readout (well defined, queries do not depend on position).

`pointwise=True` is DeRes's Pointwise AttnRes (arXiv 2606.07980): α_i = SiLU(w · RMSNorm(s_i) + b),
unnormalised, so weights can be negative (forgetting). The scalar bias b is this project's
addition: initialised to Z_STAR, the root of z·σ(z) = 1, every weight starts at 1 and every read
is the plain residual sum h_0 + Σ f (a zero query alone would read 0).

Width changes (e.g. an MLP tower's 100 -> 400 first block): every carried tensor is mapped by
one learned bias-free projection `projection`, shared across the sources, before the write.
Post-merge functions (post-norm, AutoInt's ReLU) apply to the read x_{k+1}, what the next block
reads and what leaves the stack; the sources stay raw block outputs, as in the paper.
`intermediates/<conn>/depth_weights` holds the batch-mean weights when that collection is mutable.
"""

from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from resnets.stream import StateStream, fit_width

Z_STAR = 1.278464542761074  # z·σ(z) = 1: SiLU(Z_STAR) = 1
KEY_NORM_EPS = 1e-6


def depth_attention(module: nn.Module, s_MxBxD: jax.Array, *, pointwise: bool) -> jax.Array:
    """Σ_i α_i s_i over the sources stacked on axis 0, α = softmax_i(w · RMSNorm(s_i)) or
    SiLU(w · RMSNorm(s_i) + b).

    Call inside `module`'s compact method: it creates the module's `query` (zeros), `key_scale`
    (the key RMSNorm's scale, ones) and, pointwise, `logit_bias` (Z_STAR), and sows the
    batch-mean α (M,) as `depth_weights`.
    """
    query = module.param("query", nn.initializers.zeros, (s_MxBxD.shape[-1],))
    scale = module.param("key_scale", nn.initializers.ones, (s_MxBxD.shape[-1],))
    # w · (scale ⊙ s / rms(s)) = (w ⊙ scale) · s / rms(s): the RMSNorm's scale folds into w.
    inv_rms_MxB = jax.lax.rsqrt(jnp.mean(jnp.square(s_MxBxD), axis=-1) + KEY_NORM_EPS)
    logits_MxB = jnp.einsum("m...d,d->m...", s_MxBxD, query * scale) * inv_rms_MxB
    if pointwise:
        bias = module.param("logit_bias", nn.initializers.constant(Z_STAR), ())
        alpha_MxB = nn.silu(logits_MxB + bias)
    else:
        alpha_MxB = jax.nn.softmax(logits_MxB, axis=0)
    if module.is_mutable_collection("intermediates"):
        weights_M = alpha_MxB.reshape(alpha_MxB.shape[0], -1).mean(1)
        module.sow("intermediates", "depth_weights", weights_M)
    return jnp.einsum("m...,m...d->...d", alpha_MxB, s_MxBxD)


class AttnResConnection(StateStream):
    """x_{k+1} = Σ_i α_i s_i, α = softmax_i(w_k·RMSNorm(s_i)); s = h_0, then block sums of f."""

    learned: ClassVar[tuple[str, ...]] = ("query", "logit_bias")
    # RMS-normalised keys of one feature are its sign: in a 1-wide slot (the wide + deep logit
    # sum) the depth weights could not see the states, so such a slot keeps its published sum
    min_width: ClassVar[int] = 2

    block: int = 1
    pointwise: bool = False

    def init_step(self, h0):
        # blocks: h_0 and the completed block sums; partial: the open block's outputs, so its
        # length says where in the block the next layer is (a module does not know its k).
        # Stacked arrays keep the graph O(L) ops deep (a list re-stacked per layer is O(L^2)).
        return {"x": h0, "blocks": h0[None], "partial": h0[None][:0]}

    def read_step(self, state):
        return state["x"]

    def write_step(self, state, fx, *, train):
        del train
        self.check()
        x, blocks, partial = state["x"], state["blocks"], state["partial"]
        if x.shape[-1] != fx.shape[-1]:  # one projection for every carried tensor
            n = blocks.shape[0]
            carried = fit_width(self, jnp.concatenate([blocks, partial, x[None]]), fx.shape[-1])
            blocks, partial, x = carried[:n], carried[n:-1], carried[-1]
        partial = jnp.concatenate([partial, fx[None]])
        if partial.shape[0] == self.block:
            blocks, partial = jnp.concatenate([blocks, partial.sum(0, keepdims=True)]), partial[:0]
        sources = blocks
        if partial.shape[0]:
            sources = jnp.concatenate([blocks, partial.sum(0, keepdims=True)])
        attended = depth_attention(self, sources, pointwise=self.pointwise)
        return {"x": self.merge(x, fx, attended), "blocks": blocks, "partial": partial}

    def check(self):
        if not isinstance(self.block, int) or isinstance(self.block, bool) or self.block < 1:
            raise ValueError(
                f"{type(self).__name__}: block must be a positive int (layers per block; "
                f"1 = full attention over every block output), got {self.block!r}"
            )

    def merge(self, x, fx, attended):
        """The next state from the previous one, the block output and the depth read."""
        del x, fx
        return attended

    def readout_step(self, state):
        return state["x"]

    @nn.nowrap
    def transform(self, state, fn):
        return {**state, "x": fn(state["x"])}

    @nn.nowrap
    def current(self, state):
        return state["x"]
