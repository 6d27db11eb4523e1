"""Neuron-level DAG tower: a whole MLP as one strictly upper-triangular weight matrix.

Neurons are ordered [inputs | layer 1 | layer 2 | ...]; neuron n computes
z_n = act(Σ_{m before n} z_m W_{m,n} + b_n) with W masked to be strictly causal. Hidden neurons
are computed in groups of `group` with `lax.scan`, and a neuron reads every neuron of an earlier
group: group = layer width gives DenseNet-like blocks (each layer reads all earlier layers),
group = 1 also fills the "jagged" gaps under the diagonal blocks (neuron i reads earlier neurons
of its own layer). The DAG generalises the dense family (`resnets.dense`, granularity "neuron")
from layers to neurons; cf. the sparse-DAG view of Xie et al. 2019 ("Exploring Randomly Wired
Neural Networks").

init "mlp": only the blocks from each layer to the next start non-zero, so the tower starts as
exactly a plain MLP and learning may grow the other edges; init "full": every allowed edge starts
lecun-normal. l1 > 0 sows l1·Σ|W ⊙ mask| into "losses" to learn a sparse graph.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from resnets.blocks.mlp import ACTIVATIONS

INITS = ("mlp", "full")


class DagConnection(nn.Module):
    """z_n = act(Σ_{m<n} z_m W_{m,n} + b_n): one causal neuron graph replaces the MLP tower."""

    group: int = 1
    l1: float = 0.0
    init: str = "mlp"

    def __call__(self, hist, fx, *, train: bool = False):
        raise TypeError(
            "the dag family replaces a whole MLP tower, not one merge: build it with "
            "resnets.dag.dag_tower(factory, hidden, ...) (ResidualStack and Tower do this)"
        )


def dag_tower(
    factory, hidden: Sequence[int], activation: str, dropout: float, batch_norm: bool, name: str
) -> DagTower:
    """The DagTower that replaces an MLP tower (widths `hidden`) under the dag factory."""
    if batch_norm:
        raise ValueError("dag: batch_norm is not supported (neurons are computed in groups)")
    opts = dict(factory.options)
    # A linen field named `init` would shadow Module.init, so the tower calls it `start`.
    start = opts.pop("init", "mlp")
    return DagTower(tuple(hidden), activation, dropout, **opts, start=start, name=name)


def structure(n_in: int, hidden: Sequence[int], group: int) -> tuple[np.ndarray, np.ndarray]:
    """(allowed, mlp) boolean masks of shape (n_in + H, H): source neuron m -> hidden neuron n."""
    if group < 1 or any(w % group for w in hidden):
        raise ValueError(f"dag: group={group} must divide every layer width {tuple(hidden)}")
    layer = np.concatenate(
        [np.zeros(n_in, int)] + [np.full(w, i + 1) for i, w in enumerate(hidden)]
    )
    gid = np.concatenate([np.zeros(n_in, int), 1 + np.arange(sum(hidden)) // group])
    allowed = gid[:, None] < gid[None, n_in:]
    mlp = layer[:, None] + 1 == layer[None, n_in:]
    return allowed, mlp


class DagTower(nn.Module):
    """z_n = act(Σ_{m<n} z_m (W ⊙ M)_{m,n} + b_n) over neurons [inputs | layer 1 | ...]."""

    hidden: tuple[int, ...]
    activation: str = "relu"
    dropout: float = 0.0
    group: int = 1
    l1: float = 0.0
    start: str = "mlp"  # the factory's `init` option

    def __call__(self, x_BxI: jax.Array, *, train: bool = False) -> jax.Array:
        return self.neurons(x_BxI, train=train)[:, -self.hidden[-1] :]

    @nn.compact
    def neurons(self, x_BxI: jax.Array, *, train: bool = False) -> jax.Array:
        """All neuron values (B, I + H), inputs first: for causality checks and notebooks."""
        if self.activation not in ACTIVATIONS or self.start not in INITS:
            raise ValueError(
                f"dag: activation must be one of {sorted(ACTIVATIONS)} and init one of {INITS}, "
                f"got {self.activation!r}, {self.start!r}"
            )
        n_in, h, g = x_BxI.shape[-1], sum(self.hidden), self.group
        allowed, mlp = structure(n_in, self.hidden, g)
        start = mlp if self.start == "mlp" else allowed
        fan_in = np.maximum(start.sum(0), 1)

        def kernel_init(key, shape):
            w = jax.random.truncated_normal(key, -2.0, 2.0, shape) / 0.87962566
            return w * jnp.asarray(start / np.sqrt(fan_in), jnp.float32)

        w_NxH = self.param("kernel", kernel_init, allowed.shape) * jnp.asarray(allowed, jnp.float32)
        b_H = self.param("bias", nn.initializers.zeros, (h,))
        if self.l1 > 0:
            self.sow("losses", "kernel_l1", self.l1 * jnp.sum(jnp.abs(w_NxH)))
        n_groups = h // g
        act, keep = ACTIVATIONS[self.activation], 1.0 - self.dropout
        drop = train and self.dropout > 0
        keys = jax.random.split(self.make_rng("dropout"), n_groups) if drop else jnp.zeros(n_groups)

        def step(z_BxN, xs):
            i, w_Nxg, b_g, key = xs  # b_g: (g,)
            a_Bxg = act(z_BxN @ w_Nxg + b_g[None])
            if drop:
                a_Bxg = jnp.where(jax.random.bernoulli(key, keep, a_Bxg.shape), a_Bxg / keep, 0.0)
            return lax.dynamic_update_slice(z_BxN, a_Bxg, (0, n_in + i * g)), None

        z_BxN = jnp.concatenate([x_BxI, jnp.zeros((x_BxI.shape[0], h), x_BxI.dtype)], axis=-1)
        xs = (
            jnp.arange(n_groups),
            w_NxH.reshape(-1, n_groups, g).transpose(1, 0, 2),
            b_H.reshape(n_groups, g),
            keys,
        )
        z_BxN, _ = lax.scan(step, z_BxN, xs)
        return z_BxN
