"""The residual loop exists once (resnets.stack.run_layers) and family names are tested only
inside resnets/: no CTR slot builds or merges connections itself, no code branches on a name.

A source scan: every pattern below is how the old per-slot loops and name switches were written
(`hist.append(conn(hist, fx))`, `factory(name=f"conn_{i}")`, `connection.family == "dag"`).
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAMILY_NAMES = (
    "none|identity|concat|scaled|rezero|gated|dense|dag|hyper|mhc|attnres|deres|laurel|residual"
)
OWN_LOOP = re.compile(r"hist\.append\(|conn\(hist|\(name=f\"conn_|conn\w*\.(read|write)\(")
NAME_TEST = re.compile(
    rf"(\.family|connection\.name|\.name)\s*(==|!=)\s*[\"']({FAMILY_NAMES})[\"']"
    rf"|[\"']({FAMILY_NAMES})[\"']\s*(==|!=)\s*\S*(family|connection)"
)


def _sources(*folders: str) -> list[pathlib.Path]:
    return [p for f in folders for p in sorted((ROOT / f).rglob("*.py"))]


def _hits(pattern: re.Pattern, files: list[pathlib.Path]) -> list[str]:
    return [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in files
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]


def test_no_ctr_slot_writes_its_own_residual_loop():
    assert _hits(OWN_LOOP, _sources("ctr")) == []


def test_no_code_outside_resnets_tests_a_family_name():
    assert _hits(NAME_TEST, _sources("ctr", "experiments", "bench")) == []


def test_the_scan_finds_what_it_looks_for():
    assert OWN_LOOP.search("            hist.append(conn(hist, fx_BxDxH, train=train))")
    assert NAME_TEST.search('        if self.connection.family == "dag" and self.hidden:')
    assert NAME_TEST.search('    if run.cfg.connection.name == "dag":')
    assert not NAME_TEST.search(
        "    families = [f for f in CONNECTIONS if not CONNECTIONS[f].fused]"
    )
