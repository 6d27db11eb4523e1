"""Learned connections from run folders: per-layer trajectories, surviving edges, plots."""

import dataclasses
import json

import numpy as np
import pytest
from runner_helpers import tiny

from experiments import connections, plots
from experiments.configs import ConnectionConfig
from experiments.runner import run_sweep
from resnets import connection_summary


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_surviving_edges_match_a_brute_force_listing():
    logits = [np.array([4.0, -4.0]), np.array([-3.0, 2.0, 0.5])]  # layers 1 and 2
    adjacency = [np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])]
    tower = {f"conn_{i}": {"gate_logits": g, "adjacency": a}
             for i, (g, a) in enumerate(zip(logits, adjacency, strict=True))}  # fmt: skip
    kernel = np.zeros((5, 3))
    kernel[0, 1], kernel[2, 2], kernel[4, 0] = 0.5, -2.0, 1e-5
    summary = connection_summary({"tower": tower, "dag": {"kernel": kernel}})
    edges = connections.surviving_edges(summary, threshold=1e-3)
    expected = [
        dict(target=t + 1, source=s, gate=float(_sigmoid(g[s])), weight=float(a[s]))
        for t, (g, a) in enumerate(zip(logits, adjacency, strict=True))
        for s in range(len(g))
        if _sigmoid(g[s]) > 0.5
    ]
    got = edges["tower/gates"]
    assert [(e["target"], e["source"]) for e in got] == [
        (e["target"], e["source"]) for e in expected
    ]
    for key in ("gate", "weight"):
        np.testing.assert_allclose([e[key] for e in got], [e[key] for e in expected], rtol=1e-6)
    assert edges["dag/kernel"] == [
        dict(source=0, target=1, weight=0.5),
        dict(source=2, target=2, weight=-2.0),
    ]
    # the same from result.json's form ("conn/" keys, lists)
    as_json = {f"conn/{k}": np.asarray(v).tolist() for k, v in summary.items()}
    assert connections.surviving_edges(as_json, threshold=1e-3) == edges


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("conn")
    families = {
        "scaled": {"beta": "channel", "w": "scalar"},
        "dense": {"project": True, "gates": True, "l1": 1e-3},
        "hyper": {"n": 2},  # per-layer stream mixing [A_m | A_r], 2 x 3 each epoch
    }
    cfgs = [
        dataclasses.replace(tiny(family=f), connection=ConnectionConfig(name=f, options=o))
        for f, o in families.items()
    ]
    import ctr.datasets

    def loader(name, **kw):
        kw["data_dir"] = root / "data"
        return ctr.datasets.load(name, **kw)

    run_sweep(cfgs, root / "runs", loader=loader, progress=False)
    return root / "runs", cfgs


def test_per_layer_trajectories_are_the_logged_channel_means(sweep):
    runs, cfgs = sweep
    run_dir = runs / cfgs[0].run_id
    epochs, series = connections.history(run_dir)
    layers = connections.per_layer(series)
    assert list(epochs) == [1, 2] and set(layers) == {"beta", "w"}
    assert list(layers["beta"]) == [0, 1]
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for i in (0, 1):
        logged = [np.mean(r[f"conn/tower/conn_{i}/beta"]) for r in rows]
        np.testing.assert_allclose(layers["beta"][i], logged, rtol=1e-6)


def test_plot_all_draws_trajectories_and_adjacency_over_training(sweep):
    runs, cfgs = sweep
    made = {p.name for p in plots.plot_all(runs)}
    for c in cfgs:
        assert f"connections_{c.run_id}.png" in made
    assert f"adjacency_{cfgs[1].run_id}.png" in made  # dense: adjacency and gates
    assert f"adjacency_{cfgs[0].run_id}.png" not in made  # scaled has no matrix
    assert f"adjacency_{cfgs[2].run_id}.png" in made  # hyper: its stream mixing per layer
    _, series = connections.history(runs / cfgs[2].run_id)
    assert series["tower/conn_1/static_alpha"].shape == (2, 2, 3)  # epochs x streams x (1 + n)


def test_adjacency_heatmap_accepts_a_single_merge_row(tmp_path):
    """A slot with one merge (DeepFM's combine) logs its adjacency as one row, not a matrix."""
    from experiments.plots import adjacency_over_training

    run = tmp_path / "deepfm-dense-s0"
    run.mkdir()
    row = {"epoch": 1, "train_loss": 0.5, "conn/combine/adjacency": [1.0, 0.9]}
    (run / "metrics.jsonl").write_text(json.dumps(row) + "\n")
    result = {"connection": {"conn/combine/adjacency": [1.0, 0.8]}}
    (run / "result.json").write_text(json.dumps(result))
    path = adjacency_over_training(run, tmp_path)
    assert path is not None and path.exists()
