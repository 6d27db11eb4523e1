"""Fixtures for the runner tests (configs live in runner_helpers.py, checks in
fault_helpers.py), and a trained sweep folder shared by the tests that read one back (tables,
plots, the report)."""

import os
import subprocess

import pytest
from fault_helpers import load_runs, resctr
from runner_helpers import TINY_FAMILIES

import ctr.datasets
from experiments import cli


@pytest.fixture
def loader(tmp_path):
    """ctr.datasets.load with its cache in tmp_path (tests never write outside it)."""

    def load(name, **kw):
        kw["data_dir"] = tmp_path / "data"
        return ctr.datasets.load(name, **kw)

    return load


@pytest.fixture(scope="session")
def fault_env(tmp_path_factory) -> dict:
    """The environment of the processes a fault test starts: this process's (its JAX settings,
    tests/conftest.py) and one persistent XLA compile cache of their own, where `resctr run`
    puts it, written by every compile of the processes that do not start through `resctr run`
    (a cached program computes exactly what a fresh compile does)."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    return {
        **os.environ,
        "XDG_CACHE_HOME": str(cache),
        "JAX_COMPILATION_CACHE_DIR": str(cache / "resctr" / "jax"),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    }


@pytest.fixture(scope="session")
def smoke_reference(tmp_path_factory, fault_env) -> tuple:
    """(data dir, {run_id: (result, rows)}) of the smoke sweep run once, uninterrupted, by
    `resctr run` in a subprocess; the data dir is prepared for the other fault tests."""
    root = tmp_path_factory.mktemp("smoke-reference")
    data = root / "data"
    subprocess.run(resctr(root, data), env=fault_env, check=True, capture_output=True)
    return data, load_runs(root / "smoke")


@pytest.fixture(scope="session")
def tiny_sweep_dir(tmp_path_factory):
    """runs/tiny_families after `resctr run --config tests/experiments/tiny_families.py`."""
    root = tmp_path_factory.mktemp("tiny_sweep")
    argv = ["run", "--config", str(TINY_FAMILIES), "--workdir", str(root / "runs")]
    assert cli.main([*argv, "--data-dir", str(root / "data"), "--no-progress"]) == 0
    return root / "runs" / "tiny_families"
