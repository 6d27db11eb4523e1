"""Dice activation (Zhou et al. 2018, "Deep Interest Network", eq. 9).

p(s) = σ((s − E[s]) / sqrt(Var[s] + ε)), f(s) = p(s)·s + (1 − p(s))·α·s, with batch statistics
in training and running averages at evaluation (kept in the "batch_stats" collection, as
BatchNorm does) and a learned per-channel α (init 0, so Dice starts as a smooth ReLU). `mask_B`
(1 = real row) keeps the padding rows of a ragged last batch out of the statistics.
"""

import flax.linen as nn
import jax

from resnets.norm import row_mask


class Dice(nn.Module):
    """f(s) = p·s + (1 − p)·α·s, p = σ(standardize(s)) with batch / running statistics."""

    epsilon: float = 1e-8
    momentum: float = 0.99

    @nn.compact
    def __call__(
        self, s: jax.Array, *, train: bool = False, mask_B: jax.Array | None = None
    ) -> jax.Array:
        norm = nn.BatchNorm(
            use_running_average=not train,
            use_scale=False,
            use_bias=False,
            epsilon=self.epsilon,
            momentum=self.momentum,
            name="norm",
        )
        p = nn.sigmoid(norm(s, mask=row_mask(mask_B, s.ndim)))
        alpha = self.param("alpha", nn.initializers.zeros, (s.shape[-1],))
        alpha = alpha.reshape((1,) * (s.ndim - 1) + alpha.shape)
        return p * s + (1.0 - p) * alpha * s
