"""Tiny synthetic data and configs for the runner tests (seconds each on 2 CPU cores)."""

import pytest

import ctr.datasets
from experiments.configs import ConnectionConfig, DataConfig, ModelConfig, RunConfig, TrainConfig

TINY_DATA = {"rows": 2000, "num_fields": 4, "vocab": 10}


def tiny(model="dnn", family="none", seed=0, **train) -> RunConfig:
    options = {"hidden": [8, 8]} if model in ("dnn", "deepfm") else {}
    return RunConfig(
        data=DataConfig(name="synthetic", options=dict(TINY_DATA)),
        model=ModelConfig(name=model, options=options, embedding_dim=4),
        connection=ConnectionConfig(name=family),
        train=TrainConfig(**{"batch_size": 256, "max_epochs": 2, **train}),
        seed=seed,
    )


@pytest.fixture
def loader(tmp_path):
    """ctr.datasets.load with its cache in tmp_path (tests never write outside it)."""

    def load(name, **kw):
        kw["data_dir"] = tmp_path / "data"
        return ctr.datasets.load(name, **kw)

    return load
