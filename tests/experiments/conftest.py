"""A trained sweep folder shared by the tests that read one back (tables, plots, the report)."""

import pathlib

import pytest
from runner_helpers import TINY_FAMILIES

from experiments import cli


@pytest.fixture(scope="session")
def tiny_sweep_dir(tmp_path_factory) -> pathlib.Path:
    """runs/tiny_families after `resctr run --config tests/experiments/tiny_families.py`."""
    root = tmp_path_factory.mktemp("tiny_sweep")
    argv = ["run", "--config", str(TINY_FAMILIES), "--workdir", str(root / "runs")]
    assert cli.main([*argv, "--data-dir", str(root / "data"), "--no-progress"]) == 0
    return root / "runs" / "tiny_families"
