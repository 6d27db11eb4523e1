"""Train step: one trace, lr in the state, the loss's regularizers, vmapped seeds == sequential."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from runner_helpers import TINY_DATA, tiny

import ctr.datasets
from ctr.datasets.device import gather, put_on_device
from experiments import train
from experiments.configs import TrainConfig


def setup(tmp_path, **train_kw):
    cfg = tiny("dnn", "identity", **train_kw)
    spec, splits = ctr.datasets.load("synthetic", data_dir=tmp_path, **TINY_DATA)
    cols = [f.name for f in spec.fields] + ["label"]
    data = put_on_device({c: splits["train"][c][:1024] for c in cols})
    model = train.build_model(cfg, spec)
    tx = train.make_optimizer(cfg.train)
    return cfg, model, tx, data


def batch_at(data, i, b=128):
    return gather(data, jnp.arange(i * b, (i + 1) * b), jnp.ones(b))


def test_train_step_traces_once_and_lr_lives_in_the_state(tmp_path):
    cfg, model, tx, data = setup(tmp_path)
    inner = train.make_train_step(model, tx, cfg.train)
    traces = []

    def counted(state, batch):
        traces.append(1)  # Python side effect: runs only while tracing
        return inner(state, batch)

    step = jax.jit(counted, donate_argnums=0)
    state = train.init_state(model, tx, jax.random.PRNGKey(0), batch_at(data, 0))
    losses = []
    for i in range(4):
        state = train.with_learning_rate(state, 1e-3 * 0.1**i)  # lr decay: a number, no retrace
        state, m = step(state, batch_at(data, i))
        losses.append(float(m["loss"]))
    assert len(traces) == 1
    assert int(state.step) == 4
    np.testing.assert_allclose(train.learning_rate(state), 1e-6, rtol=1e-6)
    assert np.all(np.isfinite(losses))


def test_loss_adds_the_l2_terms(tmp_path):
    cfg, model, tx, data = setup(tmp_path, embedding_l2=0.3, net_l2=0.2)
    state = train.init_state(model, tx, jax.random.PRNGKey(0), batch_at(data, 0))
    _, m = train.make_train_step(model, tx, cfg.train)(state, batch_at(data, 0))
    p = state.params
    emb = sum(jnp.sum(t**2) for t in jax.tree.leaves(p["embedding"]))
    net = sum(jnp.sum(x**2) for path, x in jax.tree_util.tree_leaves_with_path(p["tower"])
              if path[-1].key == "kernel")  # fmt: skip
    logits = model.apply({"params": p}, batch_at(data, 0))
    bce = optax.sigmoid_binary_cross_entropy(logits, batch_at(data, 0)["label"]).mean()
    np.testing.assert_allclose(m["bce"], bce, rtol=1e-5)
    np.testing.assert_allclose(m["loss"], bce + 0.15 * emb + 0.1 * net, rtol=1e-5)


def test_vmapped_seeds_equal_sequential_runs(tmp_path):
    cfg, model, tx, data = setup(tmp_path)
    step = train.make_train_step(model, tx, cfg.train)
    epoch = train.make_epoch_fn(step, batch_size=128)
    sample = batch_at(data, 0)
    seeds = [3, 11]
    init = [jax.device_get(train.init_state(model, tx, jax.random.PRNGKey(s), sample))
            for s in seeds]  # fmt: skip
    lrs = np.array([1e-3, 1e-4], np.float32)
    both, m_both = epoch(train.stack(init), data, np.array(seeds, np.int32), np.int32(1), lrs)
    for i, s in enumerate(seeds):
        one, m_one = epoch(train.stack([init[i]]), data, np.array([s], np.int32), np.int32(1),
                           lrs[i : i + 1])  # fmt: skip
        np.testing.assert_allclose(m_both["loss"][i], m_one["loss"][0], rtol=2e-5, atol=1e-6)
        chex.assert_trees_all_close(train.unstack(both.params, i),
                                    train.unstack(one.params, 0), rtol=2e-4, atol=1e-6)  # fmt: skip


GRAD_NORM_LAYERS = r"^tower/block_(\d+)/"


def test_layer_grad_norms_equal_a_brute_force_norm_of_jax_grad(tmp_path):
    cfg, model, tx, data = setup(tmp_path, grad_norm_layers=GRAD_NORM_LAYERS)
    batch = batch_at(data, 0)
    state = train.init_state(model, tx, jax.random.PRNGKey(0), batch)
    _, m = train.make_train_step(model, tx, cfg.train)(state, batch)

    def bce(params):
        logits = model.apply({"params": params}, batch, train=True)
        return optax.sigmoid_binary_cross_entropy(logits, batch["label"]).mean()

    grads = jax.grad(bce)(state.params)["tower"]
    depth = len(cfg.model.options["hidden"])
    brute = [np.sqrt(sum(np.sum(np.square(g)) for g in jax.tree.leaves(grads[f"block_{k}"])))
             for k in range(depth)]  # fmt: skip
    np.testing.assert_allclose(m["layer_grad_norm"], brute, rtol=1e-5)
    assert m["layer_grad_norm"].shape == (depth,)


def test_layer_grad_norms_off_leave_the_step_as_it_was(tmp_path):
    cfg, model, tx, data = setup(tmp_path)
    on = setup(tmp_path, grad_norm_layers=GRAD_NORM_LAYERS)
    batch = batch_at(data, 0)
    state = train.init_state(model, tx, jax.random.PRNGKey(0), batch)
    _, m_off = train.make_train_step(model, tx, cfg.train)(state, batch)
    _, m_on = train.make_train_step(model, tx, on[0].train)(state, batch)
    assert set(m_off) == {"loss", "bce"} and set(m_on) == {"loss", "bce", "layer_grad_norm"}
    for k in m_off:
        np.testing.assert_array_equal(m_on[k], m_off[k])


def test_layer_grad_norms_name_a_bad_pattern(tmp_path):
    with pytest.raises(ValueError, match="grad_norm_layers is not a regex"):
        TrainConfig(grad_norm_layers="block_(")
    with pytest.raises(ValueError, match="exactly one group"):
        TrainConfig(grad_norm_layers="block_")
    cfg, model, tx, data = setup(tmp_path, grad_norm_layers=r"^nothing_(\d+)/")
    batch = batch_at(data, 0)
    state = train.init_state(model, tx, jax.random.PRNGKey(0), batch)
    with pytest.raises(ValueError, match=r"matches no parameter; paths look like \['embedding"):
        train.make_train_step(model, tx, cfg.train)(state, batch)


@pytest.mark.parametrize("scheme", ["flax", "fuxictr"])
def test_the_init_program_equals_eager_init_state(tmp_path, scheme):
    """make_init_fn builds init_state as one program at XLA -O0: same values to float rounding."""
    cfg, model, tx, data = setup(tmp_path)
    sample = batch_at(data, 0)
    eager = train.init_state(model, tx, jax.random.PRNGKey(3), sample, scheme)
    jitted = train.make_init_fn(model, tx, sample, scheme)(jax.random.PRNGKey(3))
    chex.assert_trees_all_close(jitted, eager, rtol=1e-6, atol=1e-9)
    other = train.make_init_fn(model, tx, sample, scheme)(jax.random.PRNGKey(4))
    assert not np.allclose(other.params["tower"]["block_0"]["Dense_0"]["kernel"],
                           jitted.params["tower"]["block_0"]["Dense_0"]["kernel"])  # fmt: skip
