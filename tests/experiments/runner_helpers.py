"""Tiny synthetic data and run configs for the runner tests (seconds each on 2 CPU cores).

A plain module, not conftest.py: subprocesses import it by name, and the name `conftest` is
ambiguous across test folders.
"""

import pathlib

from experiments.configs import ConnectionConfig, DataConfig, ModelConfig, RunConfig, TrainConfig

TINY_DATA = {"rows": 2000, "num_fields": 4, "vocab": 10}
TINY_FAMILIES = pathlib.Path(__file__).parent / "tiny_families.py"  # a sweep file


def tiny(model="dnn", family="none", seed=0, **train) -> RunConfig:
    options = {"hidden": [8, 8]} if model in ("dnn", "deepfm") else {}
    return RunConfig(
        data=DataConfig(name="synthetic", options=dict(TINY_DATA)),
        model=ModelConfig(name=model, options=options, embedding_dim=4),
        connection=ConnectionConfig(name=family),
        train=TrainConfig(**{"batch_size": 256, "max_epochs": 2, **train}),
        seed=seed,
    )


def seed_groups() -> list[RunConfig]:
    """Three vmapped groups of two seeds; the FM seeds stop at different epochs (patience 1)."""
    long = dict(max_epochs=5, patience=5)
    return [
        *(tiny("dnn", "none", seed=s, **long) for s in (0, 1)),
        *(tiny("dnn", "identity", seed=s, **long) for s in (0, 1)),
        *(tiny("fm", "none", seed=s, lr=0.1, patience=1, max_epochs=5) for s in (0, 1)),
    ]


def processes_mentioning(*texts: str) -> list[int]:
    """Pids of the processes whose command line contains every one of `texts`."""
    pids = []
    for cmdline in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended while we looked
            continue
        if all(t in line for t in texts):
            pids.append(int(cmdline.parent.name))
    return pids
