"""Fixtures for the runner tests (configs live in runner_helpers.py)."""

import pytest

import ctr.datasets


@pytest.fixture
def loader(tmp_path):
    """ctr.datasets.load with its cache in tmp_path (tests never write outside it)."""

    def load(name, **kw):
        kw["data_dir"] = tmp_path / "data"
        return ctr.datasets.load(name, **kw)

    return load
