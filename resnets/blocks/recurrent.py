"""Recurrent blocks over (B, T, D) sequences: GRU (Cho et al. 2014, eq. 5-8) and LSTM
(Hochreiter & Schmidhuber 1997; the cell of Graves 2013, eq. 7-11), uni- or bidirectional.

The block returns every step's hidden state, (B, T, hidden) or (B, T, 2·hidden) when
bidirectional (forward and backward states concatenated); `seq_lengths` (B,) masks right padding.
Wrap it in `SequenceResidual` for x → GRU(x) → Dense(zero init) → connection(x, delta).
"""

from __future__ import annotations

from typing import ClassVar

import flax.linen as nn
import jax


class _Recurrent(nn.Module):
    hidden: int
    bidirectional: bool = False
    cell_cls: ClassVar[type[nn.RNNCellBase]]

    @nn.compact
    def __call__(
        self, x_BxTxD: jax.Array, *, train: bool = False, seq_lengths: jax.Array | None = None
    ) -> jax.Array:
        del train
        forward = nn.RNN(self.cell_cls(self.hidden, parent=None), name="forward")
        if not self.bidirectional:
            return forward(x_BxTxD, seq_lengths=seq_lengths)
        both = nn.Bidirectional(
            forward, nn.RNN(self.cell_cls(self.hidden, parent=None), name="backward")
        )
        return both(x_BxTxD, seq_lengths=seq_lengths)


class GRU(_Recurrent):
    """Gated recurrent unit over (B, T, D); bidirectional concatenates both directions."""

    cell_cls = nn.GRUCell


class LSTM(_Recurrent):
    """LSTM (flax OptimizedLSTMCell) over (B, T, D); bidirectional concatenates both directions."""

    cell_cls = nn.OptimizedLSTMCell
