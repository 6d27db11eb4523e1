"""Writes the run folders of tests/experiments/test_old_runs.py (kept as committed files).

They were made once, with the code before the residual-stream contract (issue 18, commit
d896327), so the test proves that a run folder saved by an older resctr still restores and
predicts the same. Rerunning this script with newer code would defeat that purpose; it is kept
to show how the folders were made:

    JAX_PLATFORMS=cpu JAX_DISABLE_MOST_OPTIMIZATIONS=true \
        python tests/experiments/old_runs/make_old_runs.py tests/experiments/old_runs
"""

import pathlib
import shutil
import sys
import tempfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from old_runs_data import CONFIGS, load_data, probe_batch  # noqa: E402

from experiments.repro.towers import load_run  # noqa: E402
from experiments.runner import run_sweep  # noqa: E402


def main(out: pathlib.Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for cfg in CONFIGS:
            data = load_data(cfg, pathlib.Path(tmp))
            run_sweep([cfg], out, loader=lambda name, data=data, **kw: data, progress=False)
            run = load_run(out / cfg.run_id, data=data)
            logits = run.model.apply(run.variables, probe_batch(data), train=False)
            np.save(out / cfg.run_id / "probe_logits.npy", np.asarray(logits))
    for d in out.iterdir():  # what load_run does not read: keep the fixture small
        if d.is_dir():
            for name in ("metrics.jsonl",):
                (d / name).unlink(missing_ok=True)
            shutil.rmtree(d / "jobs", ignore_errors=True)


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
