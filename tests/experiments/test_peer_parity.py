"""The options that make resctr train like FuxiCTR 2.3.9 (docs/peer_parity.md), each against
PyTorch's / FuxiCTR's formula written out by hand: clip_grad_norm_ + torch.optim.Adam, the
BatchNorm1d running averages, lr_decay's floor and checkpoint_and_earlystop's min_delta, and the
net regularizer's coverage."""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from runner_helpers import tiny

from experiments import train
from experiments.configs import TrainConfig
from experiments.protocol import Protocol, StopRule
from resnets.norm import batch_norm

RNG = np.random.default_rng(0)


def torch_clip_then_adam(grads, lr, max_norm, b1=0.9, b2=0.999, eps=1e-8):
    """Updates of nn.utils.clip_grad_norm_(max_norm) then torch.optim.Adam (its step(), no
    weight decay), in float64: clip_coef = max_norm / (total_norm + 1e-6), clamped to 1;
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)."""
    m = [np.zeros_like(g) for g in grads[0]]
    v = [np.zeros_like(g) for g in grads[0]]
    updates = []
    for t, gs in enumerate(grads, start=1):
        total = np.sqrt(sum(np.sum(g**2) for g in gs))
        coef = min(max_norm / (total + 1e-6), 1.0) if max_norm else 1.0
        gs = [g * coef for g in gs]
        m = [b1 * mi + (1 - b1) * g for mi, g in zip(m, gs, strict=True)]
        v = [b2 * vi + (1 - b2) * g**2 for vi, g in zip(v, gs, strict=True)]
        step = lr / (1 - b1**t)
        den = [np.sqrt(vi) / np.sqrt(1 - b2**t) + eps for vi in v]
        updates.append([-step * mi / d for mi, d in zip(m, den, strict=True)])
    return updates


def test_grad_clip_norm_and_adam_match_torch():
    """Gradients of global norm 150, 5, 20: the first and last are scaled to norm 10 exactly,
    and the Adam updates are torch's (eps 1e-8 outside the square root, no weight decay)."""
    shapes = [(3, 4), (5,)]
    grads = []
    for norm in (150.0, 5.0, 20.0):
        gs = [RNG.normal(size=s) for s in shapes]
        scale = norm / np.sqrt(sum(np.sum(g**2) for g in gs))
        grads.append([g * scale for g in gs])
    for clip in (10.0, 0.0):
        tx = train.make_optimizer(TrainConfig(lr=1e-3, grad_clip_norm=clip))
        params = [jnp.zeros(s) for s in shapes]
        state = tx.init(params)
        want = torch_clip_then_adam(grads, 1e-3, clip)
        for gs, w in zip(grads, want, strict=True):
            upd, state = tx.update([jnp.asarray(g, jnp.float32) for g in gs], state, params)
            for u, wi in zip(upd, w, strict=True):
                np.testing.assert_allclose(u, wi, rtol=2e-5, atol=1e-12)
    # lazy Adam (non-embedding leaves: exactly Adam's update) takes the same clip
    tx = train.make_optimizer(TrainConfig(lr=1e-3, grad_clip_norm=10.0, optimizer="lazy_adam"))
    params = [jnp.zeros(s) for s in shapes]
    state = tx.init(params)
    for gs, w in zip(grads, torch_clip_then_adam(grads, 1e-3, 10.0), strict=True):
        upd, state = tx.update([jnp.asarray(g, jnp.float32) for g in gs], state, params)
        for u, wi in zip(upd, w, strict=True):
            np.testing.assert_allclose(u, wi, rtol=2e-5, atol=1e-12)
    # what the clip hands Adam: exactly norm 10 when above it, untouched below
    clip = train.optax.clip_by_global_norm(10.0)
    for gs, norm in zip(grads, (10.0, 5.0, 10.0), strict=True):
        out, _ = clip.update([jnp.asarray(g) for g in gs], clip.init(None))
        np.testing.assert_allclose(np.sqrt(sum(float(jnp.sum(o**2)) for o in out)), norm, 1e-6)


def test_lr_decay_floor_and_min_delta_follow_fuxictr():
    """FuxiCTR: an epoch improves only when AUC >= best + min_delta (1e-6); each other epoch
    sets lr = max(0.1 lr, min_lr) (1e-6). resctr's defaults (0, 0) keep its old rule."""
    cfg = tiny()
    fux = dataclasses.replace(
        cfg, train=dataclasses.replace(cfg.train, patience=10, min_lr=1e-6, min_delta=1e-6)
    )
    p, rule = Protocol(lr=1e-3), StopRule.of(fux.train)
    improved = [p.end_epoch({"auc": auc}, rule) for auc in (0.5, 0.5000005, 0.6, 0.6, 0.7, 0.7)]
    assert improved == [True, False, True, False, True, False] and p.best_epoch == 5
    np.testing.assert_allclose(p.lr, 1e-6)  # 1e-3 decayed three times
    p.end_epoch({"auc": 0.7}, rule)
    assert p.lr == 1e-6  # a fourth decay stops at the floor
    old, old_rule = Protocol(lr=1e-3), StopRule.of(cfg.train)
    assert old.end_epoch({"auc": 0.5}, old_rule) and old.end_epoch({"auc": 0.5000005}, old_rule)
    cfg_ll = dataclasses.replace(fux, train=dataclasses.replace(fux.train, monitor="logloss"))
    p, rule = Protocol(lr=1e-3), StopRule.of(cfg_ll.train)
    assert p.end_epoch({"logloss": 0.3}, rule)
    assert not p.end_epoch({"logloss": 0.3 - 5e-7}, rule)  # lower, but by less than 1e-6
    assert p.end_epoch({"logloss": 0.29}, rule)


def test_net_l2_params_all_covers_every_non_embedding_parameter():
    params = {
        "embedding": {"table_user": jnp.full((3, 2), 2.0)},
        "tower": {"Dense_0": {"kernel": jnp.ones((2, 2)), "bias": jnp.full((2,), 3.0)}},
        "bn": {"scale": jnp.full((2,), 0.5)},
    }
    emb, kernels = train.l2_terms(params)
    _, everything = train.l2_terms(params, "all")
    assert float(emb) == 24.0 and float(kernels) == 4.0
    assert float(everything) == 4.0 + 18.0 + 0.5


class BN(nn.Module):
    @nn.compact
    def __call__(self, x, *, train):
        return batch_norm(x, train=train, mask_B=None)


def test_batch_norm_running_averages_follow_pytorch_batchnorm1d():
    """torch BatchNorm1d(momentum=0.1, eps=1e-5): running = 0.9 running + 0.1 batch statistic
    (flax's momentum 0.9 is the weight of the old value); training normalizes with the biased
    batch variance, eval with the running averages. The one difference: torch's running
    variance takes the unbiased batch variance, n/(n-1) times flax's (1.0002 at n = 4096)."""
    x = RNG.normal(2.0, 3.0, size=(8, 3)).astype(np.float32)
    n = x.shape[0]
    bn = BN()
    variables = bn.init(jax.random.PRNGKey(0), x, train=False)
    y, upd = bn.apply(variables, x, train=True, mutable=["batch_stats"])
    mean, var_b = x.mean(0), x.var(0)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var_b + 1e-5), rtol=1e-4, atol=1e-5)
    stats = jax.tree.map(np.asarray, upd["batch_stats"]["BatchNorm_0"])
    np.testing.assert_allclose(stats["mean"], 0.9 * 0.0 + 0.1 * mean, rtol=1e-6)
    np.testing.assert_allclose(stats["var"], 0.9 * 1.0 + 0.1 * var_b, rtol=1e-6)
    torch_var = 0.9 * 1.0 + 0.1 * var_b * n / (n - 1)
    np.testing.assert_allclose(torch_var - stats["var"], 0.1 * var_b / (n - 1), rtol=1e-4)
    y_eval = bn.apply({**variables, "batch_stats": upd["batch_stats"]}, x, train=False)
    want = (x - stats["mean"]) / np.sqrt(stats["var"] + 1e-5)
    np.testing.assert_allclose(y_eval, want, rtol=1e-5, atol=1e-6)
