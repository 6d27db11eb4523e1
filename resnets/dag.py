"""Neuron-level DAG tower: a whole MLP as one strictly upper-triangular weight matrix.

Neurons are ordered [inputs | layer 1 | layer 2 | ...]; neuron n computes
z_n = act(Σ_{m before n} z_m W_{m,n} + b_n) with W masked to be strictly causal. Hidden neurons
are computed in groups of `group` with `lax.scan`, and a neuron reads every neuron of an earlier
group: group = layer width gives DenseNet-like blocks (each layer reads all earlier layers),
group = 1 also fills the "jagged" gaps under the diagonal blocks (neuron i reads earlier neurons
of its own layer). The DAG generalises the dense family (`resnets.dense`, granularity "neuron")
from layers to neurons; cf. the sparse-DAG view of Xie et al. 2019 ("Exploring Randomly Wired
Neural Networks").

preset "mlp": only the blocks from each layer to the next start non-zero, so the tower starts as
exactly a plain MLP and learning may grow the other edges; preset "full": every allowed edge
starts lecun-normal (stored configs may still call the option `init`, its old name). The family
is `fused`: resnets.stack hands it the whole MLP tower (`fused_tower`), and slots that are not
MLP towers keep their published form. l1 > 0 sows l1·Σ|W ⊙ mask| into "losses" to learn a
sparse graph.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from resnets.blocks.mlp import ACTIVATIONS
from resnets.stream import Stream

PRESETS = ("mlp", "full")


class DagConnection(Stream):
    """z_n = act(Σ_{m<n} z_m W_{m,n} + b_n): one causal neuron graph replaces the MLP tower."""

    fused = True
    renamed = {"init": "preset"}

    group: int = 1
    l1: float = 0.0
    preset: str = "mlp"

    def __call__(self, hist, fx, *, train: bool = False):
        raise TypeError(
            "the dag family replaces a whole MLP tower, not one merge: run it through "
            "resnets.residual_stack with mlp_tower=... (ResidualStack and Tower do this)"
        )

    @staticmethod
    def fused_tower(factory, tower, *, norm: str, name: str) -> DagTower:
        """The DagTower that replaces the MLP tower `tower` (resnets.stack.MLPTower)."""
        if norm != "none":
            raise ValueError(
                f"dag with norm={norm!r}: the neuron-level dag tower has no per-layer states to "
                "normalize (its neurons are computed in groups); use norm='none' with dag"
            )
        if tower.batch_norm:
            raise ValueError("dag: batch_norm is not supported (neurons are computed in groups)")
        return DagTower(tower.hidden, tower.activation, tower.dropout, **factory.options, name=name)


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
    preset: str = "mlp"

    def __call__(self, x_BxI: jax.Array, *, train: bool = False) -> jax.Array:
        return self.neurons(x_BxI, train=train)[:, -self.hidden[-1] :]

    @nn.compact
    def neurons(self, x_BxI: jax.Array, *, train: bool = False) -> jax.Array:
        """All neuron values (B, I + H), inputs first: for causality checks and notebooks."""
        if self.activation not in ACTIVATIONS or self.preset not in PRESETS:
            raise ValueError(
                f"dag: activation must be one of {sorted(ACTIVATIONS)} and preset one of "
                f"{PRESETS}, got {self.activation!r}, {self.preset!r}"
            )
        n_in, h, g = x_BxI.shape[-1], sum(self.hidden), self.group
        allowed, mlp = structure(n_in, self.hidden, g)
        start = mlp if self.preset == "mlp" else allowed
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
