"""The repository names the shared research data relative to itself (../shared/data, resolved from
the repository root as tests/conftest.py does), never by one machine's absolute path."""

import pathlib
import re
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
# an absolute path that reaches shared/data: a "/" not preceded by "." (../) or a name character
ABSOLUTE_SHARED = re.compile(r"(?<![.\w])/[\w./-]*?shared/data")


def test_the_pattern_tells_absolute_from_relative():
    assert ABSOLUTE_SHARED.search("default `/work/shared/data/frappe`")
    assert ABSOLUTE_SHARED.search('pathlib.Path("/home/me/shared/data")')
    assert not ABSOLUTE_SHARED.search("copied from ../shared/data/REFERENCE_RESULTS.md")
    assert not ABSOLUTE_SHARED.search('parents[2] / "shared" / "data"')


def test_no_tracked_file_names_an_absolute_path_to_the_shared_data():
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    hits = []
    for name in listed.decode().split("\0"):
        path = REPO / name
        if not name or not path.is_file() or path == pathlib.Path(__file__).resolve():
            continue  # this file's own examples above are absolute on purpose
        text = path.read_bytes().decode("utf-8", errors="ignore")
        for number, line in enumerate(text.splitlines(), 1):
            if ABSOLUTE_SHARED.search(line):
                hits.append(f"{name}:{number}: {line.strip()}")
    assert not hits, "write ../shared/data (relative to the repository):\n" + "\n".join(hits)
