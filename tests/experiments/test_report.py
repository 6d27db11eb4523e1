"""`resctr report`: one self-contained HTML page whose table holds the runs' own numbers (the
paired t-test recomputed from result.json), whose figures are embedded PNGs, and which renders in
a headless browser (Chromium: every table row and image laid out and decoded)."""

import base64
import html.parser
import json
import os
import re
import shutil
import subprocess

import pytest
from runner_helpers import TINY_DATA
from scipy import stats

from experiments import cli, sweeps
from experiments.configs import DataConfig, TrainConfig

FLAGS = (  # the flags that start Chromium headless here (no sandbox as root, no network calls)
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
# Appended to a copy of the page: once it has loaded, what the browser laid out and decoded.
PROBE = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images];
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({
    images: imgs.length,
    drawn: imgs.filter(i => i.complete && i.naturalWidth > 0
                         && i.getBoundingClientRect().width > 0).length,
    rows: [...document.querySelectorAll('table tbody tr')].filter(
      r => r.getBoundingClientRect().height > 0).length,
    cells: [...document.querySelectorAll('table tbody tr')].map(
      r => [...r.cells].map(c => c.textContent)),
  });
  document.body.appendChild(pre);
});</script>"""


class Cells(html.parser.HTMLParser):
    """The text of every <td> of the page's table, row by row, and every <img> src."""

    def __init__(self):
        super().__init__()
        self.rows, self.images, self._cell = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = ""
        elif tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag == "td":
            self.rows[-1].append(self._cell)
            self._cell = None


@pytest.fixture(scope="module")
def report(tiny_sweep_dir):
    assert cli.main(["report", "--workdir", str(tiny_sweep_dir)]) == 0
    return tiny_sweep_dir / "report.html"


def _paired_p(sweep_dir, family) -> float:
    auc = {}
    for path in sweep_dir.glob("*/result.json"):
        r = json.loads(path.read_text())
        auc[(r["config"]["connection"]["name"], r["config"]["seed"])] = r["test"]["auc"]
    seeds = sorted({s for _, s in auc})
    return stats.ttest_rel([auc[family, s] for s in seeds], [auc["none", s] for s in seeds]).pvalue


def test_the_page_holds_the_hypothesis_the_runs_numbers_and_embedded_pngs(report):
    page = report.read_text()
    assert "on planted-interaction data a 2-layer DNN" in page  # the sweep file's docstring
    parsed = Cells()
    parsed.feed(page)
    rows = {r[1]: r for r in parsed.rows if r}  # family -> cells
    assert sorted(rows) == ["dense", "hyper", "none"]
    for family in ("dense", "hyper"):
        assert rows[family][5] == f"{_paired_p(report.parent, family):.3g}"
    assert len(parsed.images) == 5  # curves; trajectories and matrices of dense and hyper
    for src in parsed.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    # self-contained: nothing to fetch, nothing to run
    assert not re.search(r"<script|<link|(src|href)=\"(?!data:)", page)


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("RESCTR_BROWSER_TESTS") == "required":  # .ci/run installs it
            pytest.fail("chromium is not installed: apt-get install chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


def test_the_page_renders_in_a_headless_browser(report, tmp_path):
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text().replace("</body>", PROBE + "</body>"))
    out = subprocess.run(
        [_chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         probed.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    seen = json.loads(html.unescape(re.search(r'<pre id="probe">(.*?)</pre>', out)[1]))
    assert seen["images"] == seen["drawn"] == 5
    assert seen["rows"] == 3 and sorted(r[1] for r in seen["cells"]) == ["dense", "hyper", "none"]
    assert all(re.fullmatch(r"0\.\d{4} ± 0\.\d{4}", r[2]) for r in seen["cells"])


def _two_runs() -> list:
    """A two-run stand-in for the demo grid (the real one trains for minutes)."""
    return sweeps.grid(["dnn"], ["identity"], [0, 1], data=DataConfig(options=TINY_DATA),
                       train=TrainConfig(batch_size=256, max_epochs=1), embedding_dim=4,
                       model_options={"dnn": {"hidden": [8]}})  # fmt: skip


def test_demo_writes_the_page_and_prints_its_path(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sweeps.SWEEPS, "demo", _two_runs)
    argv = ["demo", "--workdir", str(tmp_path / "runs"), "--data-dir", str(tmp_path / "d")]
    assert cli.main(argv) == 0
    page = tmp_path / "runs" / "demo" / "report.html"
    assert f"report: {page}" in capsys.readouterr().out
    assert "A two-run stand-in for the demo grid" in page.read_text()
