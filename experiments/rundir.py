"""A run is a folder: config.json, metrics.jsonl, ckpt/ (orbax), result.json, lock.

The run is done when result.json exists; it is written through a temp file + os.replace, so a
kill never leaves half a result. Metrics are appended a line per epoch: a kill or a full disk
can cut the last line short, and readers leave such a torn last line out (a line that does not
parse before it is corruption and raises). On resume, metrics lines newer than the restored
checkpoint are dropped, so nothing is duplicated. A checkpoint that fails to restore (partial,
corrupt) falls back to the previous one with a warning; temp files and Orbax temp folders of a
killed writer are removed.

One process trains a run at a time: it holds RUN/lock (flock, which the kernel releases when
the process ends, however it ends). A run folder that cannot be written (a read-only or full
disk) raises RunDirError, naming the path and the OS error.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pathlib
import re
import shutil
import tempfile
import warnings
from typing import Any

import orbax.checkpoint as ocp

from experiments import faults


class RunDirError(OSError):
    """A run folder cannot be written: every later run of the sweep would fail the same way."""


@contextlib.contextmanager
def writing(path: pathlib.Path):
    """Turns an OS error while writing under `path` into a RunDirError that names the file."""
    try:
        yield
    except RunDirError:
        raise
    except OSError as e:
        raise RunDirError(e.errno, e.strerror or str(e), str(e.filename or path)) from e


def write_atomic(path: pathlib.Path, text: str) -> None:
    """Writes `text` to a temp file next to `path` and renames it into place."""
    with writing(path):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text[: len(text) // 2])
                faults.point(f"{path.name}.tmp", f)
                f.write(text[len(text) // 2 :])
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def write_json_atomic(path: pathlib.Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=1))


class RunDir:
    def __init__(self, root: pathlib.Path):
        self.root = pathlib.Path(root)
        self._mngr: ocp.CheckpointManager | None = None
        self._lock_fd: int | None = None

    config = property(lambda self: self.root / "config.json")
    metrics = property(lambda self: self.root / "metrics.jsonl")
    result = property(lambda self: self.root / "result.json")
    ckpt = property(lambda self: self.root / "ckpt")
    lockfile = property(lambda self: self.root / "lock")

    def is_done(self) -> bool:
        return self.result.exists()

    def lock(self) -> str | None:
        """Takes this run's lock without waiting: None when taken (kept until `close`), else
        the holder's "pid@host"."""
        with writing(self.lockfile):
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lockfile, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}@{os.uname().nodename}".encode())
            except BlockingIOError:
                holder = os.read(fd, 256).decode(errors="replace")
                os.close(fd)
                return holder or "another process"
            except BaseException:
                os.close(fd)
                raise
        self._lock_fd = fd
        return None

    def start(self, config_json: dict) -> None:
        """Writes config.json; removes the temp files and Orbax temp folders a killed writer
        left (the caller owns the run: holds its lock, or is the only process writing it)."""
        with writing(self.root):
            self.root.mkdir(parents=True, exist_ok=True)
            for tmp in self.root.glob("*.tmp"):
                tmp.unlink()
            for tmp in self.ckpt.glob(f"*{ocp.path.atomicity.TMP_DIR_SUFFIX}*"):
                shutil.rmtree(tmp)
        write_json_atomic(self.config, config_json)

    def manager(self) -> ocp.CheckpointManager:
        if self._mngr is None:
            options = ocp.CheckpointManagerOptions(max_to_keep=2, enable_async_checkpointing=False)
            with writing(self.ckpt):
                self._mngr = ocp.CheckpointManager(self.ckpt.absolute(), options=options)
        return self._mngr

    def close(self) -> None:
        if self._mngr is not None:
            self._mngr.close()
            self._mngr = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def save(self, epoch: int, tree: Any, meta: dict) -> None:
        args = ocp.args.Composite(state=ocp.args.StandardSave(tree), meta=ocp.args.JsonSave(meta))
        try:
            with writing(self.ckpt):
                self.manager().save(epoch, args=args, force=True)
                self.manager().wait_until_finished()
        except ValueError as e:
            # TensorStore reports an OS error as ValueError("... [os_error_code='28']")
            code = re.search(r"os_error_code='(\d+)'", str(e))
            if code is None:
                raise
            n = int(code[1])
            raise RunDirError(n, os.strerror(n), str(self.ckpt / str(epoch))) from e
        faults.point("saved")

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
        line = json.dumps(row) + "\n"
        with writing(self.metrics), self.metrics.open("a") as f:
            f.write(line[: len(line) // 2])
            faults.point("metrics.jsonl", f)
            f.write(line[len(line) // 2 :])

    def read_metrics(self) -> list[dict]:
        """The complete rows; a torn last line (no newline: a killed or failed append) is left
        out, an unreadable line before it raises."""
        if not self.metrics.exists():
            return []
        *lines, _torn = self.metrics.read_text().split("\n")
        rows = []
        for n, line in enumerate(lines, 1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(
                    f"{self.metrics}, line {n}: not a JSON row ({e}); the file is corrupt "
                    "(only a last line may be torn): delete the run folder to retrain the run"
                ) from e
        return rows

    def truncate_metrics(self, last_epoch: int) -> None:
        """Keeps rows up to `last_epoch` (the restored checkpoint), which must be all of epochs
        1..last_epoch; later ones and a torn last line go (they will be redone)."""
        if last_epoch == 0 and not self.metrics.exists():
            return
        keep = [r for r in self.read_metrics() if r["epoch"] <= last_epoch]
        if [r["epoch"] for r in keep] != list(range(1, last_epoch + 1)):
            raise ValueError(
                f"{self.metrics}: epochs {[r['epoch'] for r in keep]} where the checkpoint "
                f"needs 1..{last_epoch}; delete the run folder to retrain the run"
            )
        write_atomic(self.metrics, "".join(json.dumps(r) + "\n" for r in keep))

    def write_result(self, result: dict) -> None:
        write_json_atomic(self.result, result)
        faults.point("finished")
