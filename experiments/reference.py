"""Published reference numbers that `resctr table --reference NAME` prints next to our results.

BARS (Zhu et al., "BARS: Towards Open Benchmarking for Recommender Systems", SIGIR 2022,
arXiv 2205.09626): Frappe_x1 leaderboard, seed-2021 runs, test AUC and logloss, copied from
../shared/data/REFERENCE_RESULTS.md (reczoo/BARS docs/CTR/leaderboard/frappe_x1.csv at
commit 5b5e61fe). Keys are our model names; "dnn" is BARS's DNN ("YouTubeDNN" on the board).
The shared Frappe_x1 copy has no test split and a train split whose negatives' item ids were
re-sampled (frappe/PROVENANCE.md), so our valid AUC is compared with BARS's test AUC.
"""

from __future__ import annotations

BARS_FRAPPE_X1 = {
    "lr": (0.9356, 0.3076),
    "fm": (0.9671, 0.2065),
    "ffm": (0.9786, 0.186),
    "afm": (0.9697, 0.2264),
    "nfm": (0.9804, 0.2058),
    "fwfm": (0.9776, 0.203),
    "dnn": (0.9833, 0.1622),
    "ipnn": (0.9841, 0.154),
    "wide_deep": (0.9841, 0.149),
    "deepfm": (0.9842, 0.1482),
    "dcn": (0.9839, 0.1527),
    "dcnv2": (0.9845, 0.1491),
    "xdeepfm": (0.9845, 0.1466),
    "autoint": (0.9831, 0.1637),
    "autoint_plus": (0.9848, 0.149),
    "fibinet": (0.9832, 0.1941),
    "finalmlp": (0.9861, 0.1484),
}

# name -> (table title, {model: (test AUC, test logloss)})
REFERENCES = {
    "bars_frappe": (
        "Frappe_x1 with re-sampled train (BARS: test split of Frappe_x1)",
        BARS_FRAPPE_X1,
    ),
}
