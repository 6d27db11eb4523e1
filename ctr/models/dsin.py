"""DSIN (Feng et al. 2019, "Deep Session Interest Network for Click-Through Rate Prediction").

    sessions:    Q_k = [e_{k,1} .. e_{k,T}] + BE,  BE_{k,t,c} = w^K_k + w^T_t + w^C_c   (eq. 1)
    extractor:   I_k = avg_t SelfAttention(Q_k)_t                                    (eq. 2-5)
    interacting: H_k = BiLSTM(I_1 .. I_K)_k                                          (eq. 6-7)
    activation:  u_I = sum_k a^I_k I_k,  u_H = sum_k a^H_k H_k,
                 a = softmax_k(unit(·, e_t))                                         (eq. 8-9)
    logit = Tower([context; e_t; u_I; u_H])

Sessions: our data has no timestamps, so the history is cut into fixed-size sessions of
`session_len` consecutive behaviours (the paper cuts at gaps of more than 30 minutes); a session
with no real behaviour is masked everywhere. The activation units are DIN's MLP unit with softmax
normalisation (as DeepCTR's DSIN), rather than the paper's bilinear I_k W e_t.

Residual slots: attention and FFN of the session Transformer block (`sessions/conn_attention`,
`sessions/conn_ffn`, pre-norm, see bst.py), the Bi-LSTM (`interacting/conn_0`, δ = W·BiLSTM(I),
W zero-init), every layer of both activation-unit MLPs and of the output tower.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.features import FeatureSpec
from ctr.layers.sequence import BehaviourEmbedding, ResidualRecurrentStack, masked_mean
from ctr.layers.target_attention import ActivationUnit
from ctr.layers.tower import Tower
from resnets import ConnectionFactory
from resnets.blocks import TransformerBlock


class DSIN(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    session_len: int = 5
    hidden: tuple[int, ...] = (200, 80)
    attention_hidden: tuple[int, ...] = (64, 16)
    activation: str = "dice"
    attention_activation: str = "dice"
    dropout: float = 0.0
    batch_norm: bool = False
    num_heads: int = 2
    zero_init: bool = True

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        beh = BehaviourEmbedding(self.spec, self.embedding_dim, name="behaviour")(batch)
        b, length, e = beh.hist_BxLxE.shape
        t = self.session_len
        k = -(-length // t)  # ceil: the last session is padded
        pad = k * t - length
        hist = jnp.pad(beh.hist_BxLxE, ((0, 0), (0, pad), (0, 0))).reshape(b, k, t, e)
        mask_BxKxT = jnp.pad(beh.mask_BxL, ((0, 0), (0, pad))).reshape(b, k, t)

        w_k = self.param("bias_session", nn.initializers.zeros, (k,))
        w_t = self.param("bias_position", nn.initializers.zeros, (t,))
        w_c = self.param("bias_unit", nn.initializers.zeros, (e,))
        q = hist + w_k[None, :, None, None] + w_t[None, None, :, None] + w_c[None, None, None]
        mask_NxT = mask_BxKxT.reshape(b * k, t)
        block = TransformerBlock(
            self.num_heads,
            dropout=self.dropout,
            zero_init_output=self.zero_init and not self.connection.cls.plain,
            connection=self.connection,
            name="sessions",
        )
        z = block(
            q.reshape(b * k, t, e), train=train, mask=nn.make_attention_mask(mask_NxT, mask_NxT)
        )
        interest_BxKxE = masked_mean(z, mask_NxT).reshape(b, k, e)
        session_mask_BxK = mask_BxKxT.any(axis=-1)

        interacting = ResidualRecurrentStack(
            "bilstm", self.connection, zero_init=self.zero_init, name="interacting"
        )
        evolved_BxKxE = interacting(interest_BxKxE, session_mask_BxK, train=train)
        pooled = []
        for name, seq in (("interest", interest_BxKxE), ("interacting", evolved_BxKxE)):
            unit = ActivationUnit(
                self.connection,
                tuple(self.attention_hidden),
                self.attention_activation,
                normalize="softmax",
                name=f"att_{name}",
            )
            mask_B = batch.get("mask")
            pooled.append(
                unit(seq, beh.target_BxE, session_mask_BxK, train=train, mask_B=mask_B)[0]
            )
        x = jnp.concatenate([beh.context_BxC, beh.target_BxE, *pooled], axis=-1)
        tower = Tower(
            tuple(self.hidden),
            self.connection,
            self.activation,
            self.dropout,
            self.batch_norm,
            out_dim=1,
            name="tower",
        )
        return tower(x, train=train, mask_B=batch.get("mask"))[:, 0]
