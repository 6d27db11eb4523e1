"""A sweep file for the tests (seconds on a CPU): on planted-interaction data a 2-layer DNN
tower trains to about the same AUC plain, with a learned dense graph over its layers, and
with 2 hyper-connection streams (whose mixing matrices the report draws)."""

from experiments.configs import DataConfig, TrainConfig
from experiments.sweeps import grid

BASELINE = "none"

TINY = DataConfig(name="synthetic", options={"rows": 2000, "num_fields": 4, "vocab": 10})


def sweep():
    return grid(
        ["dnn"], ["none", "dense", "hyper"], [0, 1],
        data=TINY,
        train=TrainConfig(batch_size=256, max_epochs=2, lr=3e-3),
        model_options={"dnn": {"hidden": [8, 8]}},
        embedding_dim=4,
        widths_differ=True,
    )  # fmt: skip
