"""The configs and data of the old-run fixture (tests/experiments/old_runs/): one run per kind
of residual slot, with option names as stored before issue 18 (dense's and dag's `init`)."""

import pathlib

import numpy as np

import ctr.datasets
from experiments.configs import ConnectionConfig, DataConfig, ModelConfig, RunConfig, TrainConfig

TABULAR = DataConfig(name="synthetic", options={"rows": 600, "num_fields": 4, "vocab": 10})
SEQUENCE = DataConfig(name="amazon", options={"file": "Tiny.txt", "max_len": 4})


def _cfg(model, family, options=None, data=TABULAR, shared=False, **model_options):
    return RunConfig(
        data=data,
        model=ModelConfig(name=model, options=model_options, embedding_dim=4),
        connection=ConnectionConfig(name=family, options=options or {}, shared=shared),
        train=TrainConfig(batch_size=128, max_epochs=1),
        seed=0,
    )


CONFIGS = [
    _cfg(
        "dnn",
        "dense",
        {"init": "resnet", "granularity": "channel", "project": True},
        hidden=[8, 8],
        norm="bn",
    ),
    _cfg("dnn", "dag", {"init": "mlp", "group": 4}, hidden=[8, 8]),
    _cfg("dnn", "rezero", shared=True, hidden=[8, 8], norm="ln", norm_position="post"),
    _cfg("deepfm", "gated", hidden=[8, 8], batch_norm=True),
    _cfg("dcnv2", "identity", hidden=[8], num_cross_layers=2),
    _cfg("xdeepfm", "concat", hidden=[8], cin_units=[4, 4]),
    _cfg("autoint_plus", "scaled", hidden=[8], attention_layers=2, attention_dim=8, num_heads=2),
    _cfg("deep_crossing", "none", residual_units=[8, 8]),
    _cfg("bst", "identity", data=SEQUENCE, hidden=[8], num_heads=2),
    _cfg(
        "gru4rec", "dense", {"init": "uniform", "project": True}, data=SEQUENCE, hidden=[8], depth=2
    ),
]


def load_data(cfg: RunConfig, root: pathlib.Path):
    """The run's (spec, splits), regenerated deterministically under `root`."""
    manual = None
    if cfg.data.name == "amazon":
        manual = root / "manual"
        manual.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        items = np.arange(1, 31)
        lines = [
            " ".join(map(str, [u, *rng.choice(items, rng.integers(5, 10), replace=False)]))
            for u in range(1, 41)
        ]
        (manual / "Tiny.txt").write_text("\n".join(lines) + "\n")
    return ctr.datasets.load(
        cfg.data.name, data_dir=root / "data", manual_dir=manual, **cfg.data.options
    )


def probe_batch(data, rows: int = 32) -> dict:
    spec, splits = data
    return {k: np.asarray(v[:rows]) for k, v in splits["valid"].items()}
