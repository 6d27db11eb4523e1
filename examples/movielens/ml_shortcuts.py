"""Do residual shortcuts help the BARS DNN and DeepFM towers on MovieLens? Hypothesis: at the
BARS towers' depth (3 x 400, BatchNorm, dropout 0.2) identity and dense shortcuts move valid
AUC by less than the seed-to-seed spread, as they do on Frappe_x1 (README, families_frappe).
Each model takes its BARS Frappe_x1 settings and trains as FuxiCTR trains (bars_grid)."""

from experiments.configs import DataConfig
from experiments.sweeps import BARS_SEEDS, bars_grid

BASELINE = "none"  # pair every family with the published plain tower

MOVIELENS = DataConfig(name="movielens")  # the name in schema.yaml


def sweep():
    return bars_grid(
        ["dnn", "deepfm"], ["none", "identity", "dense"], BARS_SEEDS[:2], data=MOVIELENS
    )
