"""Mixed logistic regression, LS-PLM (Gai et al. 2017, eq. 2 with the softmax divider):

  p(y=1|x) = Σ_{m<M} softmax_m(u^T x) σ(w_m^T x),

returned as the logit log p − log(1 − p), computed stably in log space:
  log p     = logsumexp_m(log_softmax_m(u^T x) + log σ(w_m^T x))
  log (1−p) = logsumexp_m(log_softmax_m(u^T x) + log σ(−w_m^T x))   (Σ_m softmax_m = 1).
"""

from __future__ import annotations

import jax
import jax.nn as jnn
from jax.scipy.special import logsumexp


def mlr_logit(gate_BxM: jax.Array, pred_BxM: jax.Array) -> jax.Array:
    """Logit of Σ_m softmax(gate)_m σ(pred_m): logits_B."""
    log_gate = jnn.log_softmax(gate_BxM, axis=-1)
    log_p = logsumexp(log_gate + jnn.log_sigmoid(pred_BxM), axis=-1)
    log_q = logsumexp(log_gate + jnn.log_sigmoid(-pred_BxM), axis=-1)
    return log_p - log_q
