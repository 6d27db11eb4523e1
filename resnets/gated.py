"""Highway connection (Srivastava, Greff, Schmidhuber 2015, "Highway Networks", eq. 3).

g = σ(W_g x + b_g), h_{k+1} = g ⊙ f(x) + (1 − g) ⊙ x. b_g starts at `carry_bias` < 0 so the
layer first carries x (the paper uses −1 to −3). With W_g = 0 this is `scaled` with β = σ(b_g)
and w = 1 − σ(b_g). When widths differ, x is first projected by a learned P (no bias).
"""

from collections.abc import Sequence

import flax.linen as nn
import jax

from resnets.stream import Stream, fit_width

KERNEL_INITS = {"lecun_normal": nn.initializers.lecun_normal(), "zeros": nn.initializers.zeros}


class GatedConnection(Stream):
    """h = g ⊙ f(x) + (1 − g) ⊙ x, g = σ(W_g x + b_g), b_g init carry_bias (highway)."""

    carry_bias: float = -2.0
    gate_kernel_init: str = "lecun_normal"

    @nn.compact
    def __call__(self, hist: Sequence[jax.Array], fx: jax.Array, *, train: bool = False):
        del train
        if self.gate_kernel_init not in KERNEL_INITS:
            raise ValueError(
                f"gated: gate_kernel_init must be one of {sorted(KERNEL_INITS)}, "
                f"got {self.gate_kernel_init!r}"
            )
        d = fx.shape[-1]
        x = fit_width(self, hist[-1], d)
        gate = nn.Dense(
            d,
            kernel_init=KERNEL_INITS[self.gate_kernel_init],
            bias_init=nn.initializers.constant(self.carry_bias),
            name="gate",
        )
        g = nn.sigmoid(gate(x))
        return g * fx + (1.0 - g) * x
