"""Run folders saved by an older resctr (before the residual-stream contract, issue 18) still
load: same run id from their stored config (old option names included), same parameter tree,
same predictions. The folders are committed files (old_runs/, made by old_runs/make_old_runs.py)."""

import json
import pathlib
import shutil

import numpy as np
import pytest
from old_runs_data import CONFIGS, load_data, probe_batch

from experiments.configs import RunConfig
from experiments.repro.towers import load_run

OLD_RUNS = pathlib.Path(__file__).parent / "old_runs"


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c.run_id)
def test_an_old_run_folder_restores_and_predicts_the_same(cfg, tmp_path):
    src = OLD_RUNS / cfg.run_id
    assert src.is_dir(), f"{src} is missing: the config's run id changed"
    stored = RunConfig.from_json(json.loads((src / "config.json").read_text()))
    assert stored.run_id == cfg.run_id
    run_dir = shutil.copytree(src, tmp_path / cfg.run_id)  # orbax may touch what it opens
    data = load_data(stored, tmp_path)
    run = load_run(run_dir, data=data)
    logits = run.model.apply(run.variables, probe_batch(data), train=False)
    expected = np.load(src / "probe_logits.npy")
    np.testing.assert_allclose(np.asarray(logits), expected, rtol=1e-5, atol=1e-6)
