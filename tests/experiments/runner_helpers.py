"""Tiny synthetic data and run configs for the runner tests (seconds each on 2 CPU cores).

A plain module, not conftest.py: subprocesses import it by name, and the name `conftest` is
ambiguous across test folders.
"""

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
