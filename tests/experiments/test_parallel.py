"""Data parallel on 8 simulated CPU devices trains to the same losses as one device."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import jax
import ctr.datasets
from runner_helpers import tiny
from experiments.parallel import DataParallel
from experiments.runner import run_sweep
assert jax.device_count() == 8
load = lambda name, **kw: ctr.datasets.load(name, **{{**kw, "data_dir": {data!r}}})
from experiments.configs import RunConfig
def cfg(seed):  # vocab 14 + PAD + OOV = 16 rows: tables split evenly over 8 devices
    d = tiny("deepfm", "scaled", seed=seed).to_json()
    d["data"]["options"]["vocab"] = 14
    return RunConfig.from_json(d)
cfgs = [cfg(0), cfg(1)]
for name, placement in [("one", None), ("dp", DataParallel()),
                        ("dp_emb", DataParallel(shard_embeddings=True))]:
    run_sweep(cfgs, {root!r} + "/" + name, loader=load, placement=placement, progress=False)
"""


def test_data_parallel_matches_one_device(tmp_path):
    tests = os.path.dirname(__file__)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
           "JAX_PLATFORMS": "cpu"}  # fmt: skip
    script = SCRIPT.format(tests=tests, data=str(tmp_path / "data"), root=str(tmp_path))
    subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=tmp_path)
    runs = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert len(runs) == 2
    for name in ("dp", "dp_emb"):
        for run in runs:
            ref = (tmp_path / "one" / run / "metrics.jsonl").read_text().splitlines()
            got = (tmp_path / name / run / "metrics.jsonl").read_text().splitlines()
            assert len(got) == len(ref) == 2
            for a, b in zip(map(json.loads, got), map(json.loads, ref), strict=True):
                assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
                assert a["valid_auc"] == pytest.approx(b["valid_auc"], abs=1e-4)
