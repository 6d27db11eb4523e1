"""BatchNorm's running statistics through training: model options, vmapped seeds == sequential,
checkpoint round trip, and the data-parallel mesh (cross-device batch mean) in a subprocess."""

import json
import os
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from runner_helpers import TINY_DATA, tiny

import ctr.datasets
from ctr.datasets.device import gather, put_on_device
from experiments import train
from experiments.configs import ModelConfig, RunConfig
from experiments.rundir import RunDir

BN_TOWER = {"hidden": [8, 8], "norm": "bn", "norm_position": "post"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """One synthetic data cache for the module (the subprocess reads it too)."""
    return tmp_path_factory.mktemp("data")


def setup(data_dir, model="dnn", **options):
    d = tiny(model, "identity").to_json()
    d["model"]["options"] = {**BN_TOWER, **options}
    cfg = RunConfig.from_json(d)
    spec, splits = ctr.datasets.load("synthetic", data_dir=data_dir, **TINY_DATA)
    cols = [f.name for f in spec.fields] + ["label"]
    data = put_on_device({c: splits["train"][c][:600] for c in cols})  # 600: a ragged last batch
    model = train.build_model(cfg, spec)
    tx = train.make_optimizer(cfg.train)
    sample = gather(data, jnp.arange(128), jnp.ones(128))
    return cfg, model, tx, data, sample


@pytest.mark.parametrize("model", ["dnn", "deepfm"])
@pytest.mark.parametrize("norm", ["bn", "ln"])
def test_models_accept_norm_options(data_dir, model, norm):
    cfg, net, tx, data, sample = setup(data_dir, model, norm=norm)
    ModelConfig(name=model, options={"hidden": [8], "norm": norm, "norm_position": "pre"})
    state = train.init_state(net, tx, jax.random.PRNGKey(0), sample)
    assert set(state.params["tower"]["norm_1"]) == {"scale", "bias"}
    assert bool(state.batch_stats) == (norm == "bn")


def test_vmapped_seeds_keep_their_own_batch_stats(data_dir):
    cfg, model, tx, data, sample = setup(data_dir)
    epoch = train.make_epoch_fn(train.make_train_step(model, tx, cfg.train), batch_size=128)
    seeds = [3, 11]
    init = [jax.device_get(train.init_state(model, tx, jax.random.PRNGKey(s), sample))
            for s in seeds]  # fmt: skip
    lrs = np.array([1e-3, 1e-3], np.float32)
    both, _ = epoch(train.stack(init), data, np.array(seeds, np.int32), np.int32(1), lrs)
    stats = [train.unstack(both.batch_stats, i) for i in range(2)]
    assert not np.allclose(stats[0]["tower"]["norm_0"]["mean"], stats[1]["tower"]["norm_0"]["mean"])
    for i, s in enumerate(seeds):
        one, _ = epoch(train.stack([init[i]]), data, np.array([s], np.int32), np.int32(1),
                       lrs[i : i + 1])  # fmt: skip
        chex.assert_trees_all_close(stats[i], train.unstack(one.batch_stats, 0),
                                    rtol=2e-4, atol=1e-5)  # fmt: skip


def test_checkpoint_round_trip_keeps_batch_stats(data_dir, tmp_path):
    cfg, model, tx, data, sample = setup(data_dir)
    epoch = train.make_epoch_fn(train.make_train_step(model, tx, cfg.train), batch_size=128)
    init = jax.device_get(train.init_state(model, tx, jax.random.PRNGKey(0), sample))
    trained, _ = epoch(train.stack([init]), data, np.array([0], np.int32), np.int32(1),
                       np.array([1e-3], np.float32))  # fmt: skip
    trained = jax.device_get(trained)
    # the running averages moved away from their init (mean 0, var 1)
    assert np.abs(trained.batch_stats["tower"]["norm_0"]["var"] - 1.0).min() > 0.1
    rd = RunDir(tmp_path / "run")
    rd.start({})
    rd.save(1, trained, {"epoch": 1})
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), trained)
    restored, meta = rd.restore_latest(abstract)
    rd.close()
    assert meta == {"epoch": 1}
    chex.assert_trees_all_equal(jax.device_get(restored.batch_stats), trained.batch_stats)
    predict = train.make_predict_fn(model, batch_size=256)
    chex.assert_trees_all_equal(predict(restored, data), predict(trained, data))


MESH_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import jax, numpy as np
from experiments import train
from experiments.parallel import DataParallel
from test_norm_training import setup
import pathlib
assert jax.device_count() == 4
cfg, model, tx, data, sample = setup(pathlib.Path({data!r}))
step = train.make_train_step(model, tx, cfg.train)
init = train.stack([jax.device_get(train.init_state(model, tx, jax.random.PRNGKey(0), sample))])
args = (np.array([0], np.int32), np.int32(1), np.array([1e-3], np.float32))
one, _ = train.make_epoch_fn(step, 128)(jax.device_put(init), data, *args)
dp = DataParallel()
sharded, _ = train.make_epoch_fn(step, 128, dp.constrain)(
    dp(init, "state"), dp(jax.device_get(data), "data"), *args)
out = {{k: jax.tree.map(lambda x: np.asarray(x).tolist(), getattr(s, "batch_stats"))
       for k, s in [("one", one), ("dp", sharded)]}}
print(json.dumps(out))
"""


def test_mesh_batch_statistics_are_the_global_batch_mean(data_dir, tmp_path):
    tests = os.path.dirname(__file__)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
           "JAX_PLATFORMS": "cpu"}  # fmt: skip
    setup(data_dir)  # builds the cache here, so the subprocess only reads it
    script = MESH_SCRIPT.format(tests=tests, data=str(data_dir))
    proc = subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=tmp_path,
                          capture_output=True, text=True)  # fmt: skip
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # per-device statistics (each shard's own mean) would differ from one device's by far more
    chex.assert_trees_all_close(out["dp"], out["one"], rtol=1e-4, atol=1e-6)
