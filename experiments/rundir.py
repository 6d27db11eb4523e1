"""A run is a folder: config.json, metrics.jsonl, ckpt/ (orbax), result.json.

The run is done when result.json exists; it is written through a temp file + os.replace, so a
kill never leaves half a result. On resume, metrics lines newer than the restored checkpoint are
dropped, so nothing is duplicated. A checkpoint that fails to restore (partial, corrupt) falls
back to the previous one with a warning.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
import warnings
from typing import Any

import orbax.checkpoint as ocp


def write_json_atomic(path: pathlib.Path, obj: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class RunDir:
    def __init__(self, root: pathlib.Path):
        self.root = pathlib.Path(root)
        self._mngr: ocp.CheckpointManager | None = None

    config = property(lambda self: self.root / "config.json")
    metrics = property(lambda self: self.root / "metrics.jsonl")
    result = property(lambda self: self.root / "result.json")
    ckpt = property(lambda self: self.root / "ckpt")

    def is_done(self) -> bool:
        return self.result.exists()

    def start(self, config_json: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.config, config_json)

    def manager(self) -> ocp.CheckpointManager:
        if self._mngr is None:
            options = ocp.CheckpointManagerOptions(max_to_keep=2, enable_async_checkpointing=False)
            self._mngr = ocp.CheckpointManager(self.ckpt.absolute(), options=options)
        return self._mngr

    def close(self) -> None:
        if self._mngr is not None:
            self._mngr.close()
            self._mngr = None

    def save(self, epoch: int, tree: Any, meta: dict) -> None:
        args = ocp.args.Composite(state=ocp.args.StandardSave(tree), meta=ocp.args.JsonSave(meta))
        self.manager().save(epoch, args=args, force=True)
        self.manager().wait_until_finished()

    def restore_latest(self, abstract: Any) -> tuple[Any, dict] | None:
        """(tree, meta) of the newest checkpoint that restores, or None when there is none."""
        if not self.ckpt.exists():
            return None
        for step in sorted(self.manager().all_steps(), reverse=True):
            args = ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()
            )
            try:
                out = self.manager().restore(step, args=args)
                return out["state"], out["meta"]
            except Exception as e:  # noqa: BLE001 - any failure means: try the older one
                warnings.warn(
                    f"{self.root}: checkpoint {step} does not restore ({type(e).__name__}: {e}); "
                    "falling back to the previous one",
                    stacklevel=2,
                )
        return None

    def append_metrics(self, row: dict) -> None:
        with self.metrics.open("a") as f:
            f.write(json.dumps(row) + "\n")

    def read_metrics(self) -> list[dict]:
        if not self.metrics.exists():
            return []
        return [json.loads(line) for line in self.metrics.read_text().splitlines() if line]

    def truncate_metrics(self, last_epoch: int) -> None:
        """Keeps rows up to `last_epoch` (the restored checkpoint); later ones will be redone."""
        if not self.metrics.exists():
            return
        keep = [r for r in self.read_metrics() if r["epoch"] <= last_epoch]
        text = "".join(json.dumps(r) + "\n" for r in keep)
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, self.metrics)

    def write_result(self, result: dict) -> None:
        write_json_atomic(self.result, result)
