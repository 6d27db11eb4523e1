"""Dense (upper-triangular) connections over layers.

h_{k+1} = Σ_{j≤k} A_{k+1,j} ⊙ h_j + A_{k+1,k+1} ⊙ f(x): every state reads every earlier state
through a learned, strictly causal adjacency. granularity "edge" (one scalar per edge) is the
DenseFormer depth-weighted average (Pagliardini et al. 2024, "DenseFormer", eq. 1), "channel" one
weight per channel, "neuron" a full D×D matrix per edge (h_j A_{k+1,j}). Optional sigmoid edge
gates σ(G_{k+1,j}) multiply each edge; with l1 > 0 the layer sows l1·Σσ(G) into "losses" so the
graph can be learned sparse.

Initial graphs (`preset`; stored configs may still call it `init`, the name it had before it
was found to shadow linen's Module.init): "resnet" (A_{k+1,k} = A_{k+1,k+1} = 1, else 0: exactly
`identity`), "plain" (only f(x) weighted 1: exactly `none`), "uniform" (mean of h_0..h_k plus
f(x)).

Sharing: each layer's row has its own length, so shared=True needs `max_depth` = L: the one
instance then owns the full (L, L+1) matrix and layer k+1 uses row k's first k+2 entries.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from resnets.stream import Stream

GRANULARITIES = ("edge", "channel", "neuron")
PRESETS = ("resnet", "plain", "uniform")


def init_row(preset: str, n: int) -> np.ndarray:
    """Edge weights for the row of layer n (entries h_0..h_{n-1}, then f(x))."""
    row = np.zeros(n + 1, np.float32)
    row[n] = 1.0
    if preset == "resnet":
        row[n - 1] = 1.0
    elif preset == "uniform":
        row[:n] = 1.0 / n
    return row


class DenseConnection(Stream):
    """h_{k+1} = Σ_{j≤k} A_{k+1,j} ⊙ h_j + A_{k+1,k+1} ⊙ f(x) (learned causal adjacency)."""

    renamed = {"init": "preset"}
    learned = ("adjacency", "gate_logits")
    shared_note = "needs max_depth"

    granularity: str = "edge"
    preset: str = "resnet"
    gates: bool = False
    gate_init: float = 3.0
    l1: float = 0.0
    project: bool = False
    max_depth: int | None = None

    @classmethod
    def check_options(cls, options, *, shared):
        if shared and options.get("max_depth") is None:
            raise ValueError(
                "dense with shared=True needs max_depth=L (the stack depth): one shared instance "
                "then owns the full (L, L+1) adjacency matrix"
            )

    @nn.compact
    def __call__(self, hist: Sequence[jax.Array], fx: jax.Array, *, train: bool = False):
        del train
        if self.granularity not in GRANULARITIES or self.preset not in PRESETS:
            raise ValueError(
                f"dense: granularity must be one of {GRANULARITIES} and preset one of {PRESETS}, "
                f"got {self.granularity!r}, {self.preset!r}"
            )
        n, d = len(hist), fx.shape[-1]
        if self.max_depth is not None and n > self.max_depth:
            raise ValueError(f"dense: layer {n} exceeds max_depth={self.max_depth}")
        states = [self._fit(j, h, d) for j, h in enumerate(hist)] + [fx]
        adj = self._row("adjacency", n, d, self._adjacency_init)
        if self.gates:
            logits = self._row("gate_logits", n, None, self._gate_init)
            gate = nn.sigmoid(logits)
            if self.l1 > 0:
                self.sow("losses", "gate_l1", self.l1 * jnp.sum(gate))
            adj = adj * gate.reshape(gate.shape + (1,) * (adj.ndim - 1))
        # One contraction over the stacked states instead of k+2 separate multiply-adds keeps
        # deep stacks cheap to compile.
        s_JxBxD = jnp.stack(states, axis=0)
        if self.granularity == "edge":
            return jnp.tensordot(adj, s_JxBxD, axes=1)
        if self.granularity == "channel":
            return jnp.einsum("j...d,jd->...d", s_JxBxD, adj)
        return jnp.einsum("j...d,jde->...e", s_JxBxD, adj)

    def _fit(self, j: int, h: jax.Array, d: int) -> jax.Array:
        if h.shape[-1] == d:
            return h
        if not self.project:
            raise ValueError(
                f"dense: state h_{j} has width {h.shape[-1]} but f(x) has width {d}; dense needs "
                "equal widths across the stack: use equal widths, dense(project=True), "
                "identity, or concat(project=True)"
            )
        return nn.Dense(d, use_bias=False, name=f"projection_{j}")(h)

    def _row(self, name: str, n: int, d: int | None, row_init) -> jax.Array:
        """Row n of the matrix: own (n+1, ...) parameter, or a slice of the shared full one."""
        if self.max_depth is None:
            return self.param(name, lambda key: row_init(n, d))
        full = self.param(
            name, lambda key: jnp.stack([self._padded(row_init(r, d)) for r in self._rows()])
        )
        return full[n - 1, : n + 1]

    def _rows(self) -> range:
        return range(1, self.max_depth + 1)

    def _padded(self, row: jax.Array) -> jax.Array:
        pad = [(0, self.max_depth + 1 - row.shape[0])] + [(0, 0)] * (row.ndim - 1)
        return jnp.pad(row, pad)

    def _adjacency_init(self, n: int, d: int) -> jax.Array:
        row = jnp.asarray(init_row(self.preset, n))
        if self.granularity == "edge":
            return row
        if self.granularity == "channel":
            return jnp.repeat(row[:, None], d, axis=1)
        return row[:, None, None] * jnp.eye(d)[None]

    def _gate_init(self, n: int, d: None) -> jax.Array:
        return jnp.full((n + 1,), self.gate_init, jnp.float32)
