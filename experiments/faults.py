"""Fault injection for the kill-and-resume tests (tests/experiments/test_faults.py).

RESCTR_FAULT="POINT:N" makes a process SIGKILL itself the N-th time it reaches POINT (N=1 when
left out), a place where a kill is hard to time from outside:

  metrics.jsonl      half of a metrics line appended (a torn line)
  config.json.tmp    half of the temp file of config.json written (it is renamed into place)
  result.json.tmp    the same for result.json
  metrics.jsonl.tmp  the same for metrics.jsonl rewritten on resume (later rows dropped)
  ckpt               a checkpoint folder or one of its items written, not yet renamed into
                     place (Orbax's commit)
  saved              a checkpoint committed, the run's next write not yet made
  finished           result.json in place, the run folder not yet closed (its lock still held)

Unset, as always outside tests, `point` is one comparison and nothing is patched.
"""

from __future__ import annotations

import os
import signal

POINTS = ("metrics.jsonl", "config.json.tmp", "result.json.tmp", "metrics.jsonl.tmp", "ckpt",
          "saved", "finished")  # fmt: skip

_point, _, _count = os.environ.get("RESCTR_FAULT", "").partition(":")
if _point and (_point not in POINTS or not (_count or "1").isdigit()):
    raise ValueError(f"RESCTR_FAULT={_point}:{_count}: want POINT[:N] with POINT in {POINTS}")
_left = int(_count or 1)


def point(name: str, file=None) -> None:
    """Kills this process here when RESCTR_FAULT names `name` and its count is reached; what
    was written to `file` so far is flushed first, so the kill leaves it torn."""
    global _left
    if name != _point:
        return
    _left -= 1
    if _left == 0:
        if file is not None:
            file.flush()
        os.kill(os.getpid(), signal.SIGKILL)


if _point == "ckpt":
    import orbax.checkpoint as ocp

    _rename = ocp.path.atomicity.AtomicRenameTemporaryPath
    _finalize = _rename.finalize

    async def _finalize_after_fault(self):
        point("ckpt")
        await _finalize(self)

    _rename.finalize = _finalize_after_fault
