"""A read-only or full workdir: `resctr run` stops at once with the path and the OS error (not
once per group), keeps every finished result, and the same command finishes the sweep once the
disk is writable, to the numbers of an uninterrupted run.

The disks are tmpfs mounts, which need root (CAP_SYS_ADMIN); without it the read-only case is
skipped and the full disk is a file-size limit (RLIMIT_FSIZE: writes past it fail with EFBIG).
"""

import resource
import subprocess

import pytest
from fault_helpers import check, resctr

from experiments.sweeps import SWEEPS

pytestmark = pytest.mark.slow


def mount(*args: str) -> str | None:
    """Runs `mount ARGS`; None when it worked, else why not."""
    try:
        out = subprocess.run(["mount", *args], capture_output=True, text=True)
    except OSError as e:
        return str(e)
    return None if out.returncode == 0 else out.stderr.strip()


@pytest.fixture
def tmpfs(tmp_path):
    """(a 640 KiB tmpfs mount point or None, why not), unmounted after the test."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    why = mount("-t", "tmpfs", "-o", "size=640k", "tmpfs", str(mnt))
    yield (None if why else mnt), why
    if why is None:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


def contents(sweep) -> dict:
    return {p: p.read_bytes() for p in sweep.rglob("*") if p.is_file()}


def run(argv, env, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, **kw)


def test_a_read_only_workdir_says_so_and_keeps_every_result(tmpfs, smoke_reference, fault_env):
    mnt, why = tmpfs
    if mnt is None:
        pytest.skip(f"mounting a tmpfs is not permitted here ({why}): needs root")
    data, reference = smoke_reference
    sweep = mnt / "smoke"
    # LR and FM finished (two checkpoints each), DNN killed after its first, DNN+identity not run
    killed = {**fault_env, "RESCTR_FAULT": "saved:5"}
    assert run(resctr(mnt, data), killed).returncode == -9
    before = contents(sweep)
    assert len([p for p in before if p.name == "result.json"]) == 2
    assert mount("-o", "remount,ro", str(mnt)) is None
    for jobs in ("1", "2"):
        out = run(resctr(mnt, data, "--jobs", jobs), fault_env)
        assert out.returncode == 1, out
        assert f"cannot write {sweep}: [Errno 30] Read-only file system: '{sweep}/" in out.stderr
        assert out.stderr.count("cannot write") == 1 and "FAILED" not in out.stdout, out
    assert contents(sweep) == before
    assert mount("-o", "remount,rw,size=16m", str(mnt)) is None
    assert run(resctr(mnt, data), fault_env).returncode == 0
    check(sweep, reference, complete=True)


def _limit_file_size(nbytes: int):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))


def test_a_full_workdir_says_so_and_keeps_every_result(tmp_path, tmpfs, smoke_reference, fault_env):
    mnt, _ = tmpfs
    data, reference = smoke_reference
    workdir = mnt or tmp_path / "runs"
    sweep = workdir / "smoke"
    # 640 KiB hold the LR and FM runs, not the DNNs; the DNNs' checkpoints hold a 30 KB file
    full = {} if mnt else {"preexec_fn": _limit_file_size(28_000)}
    error = "No space left on device" if mnt else "File too large"
    out = run(resctr(workdir, data), fault_env, **full)
    assert out.returncode == 1, out
    assert f"cannot write {sweep}: [Errno" in out.stderr and error in out.stderr, out.stderr
    assert out.stderr.count("cannot write") == 1 and "FAILED" not in out.stdout, out
    results = {p: b for p, b in contents(sweep).items() if p.name == "result.json"}
    done = [p.parent.name for p in results]
    assert 1 <= len(done) < len(SWEEPS["smoke"]()), done
    check(sweep, {run: reference[run] for run in done}, complete=False)
    if mnt:
        assert mount("-o", "remount,size=16m", str(mnt)) is None
    assert run(resctr(workdir, data), fault_env).returncode == 0
    assert all(p.read_bytes() == b for p, b in results.items())  # kept, not redone
    check(sweep, reference, complete=True)
