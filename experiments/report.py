"""`resctr report --workdir runs/NAME`: a sweep's results as one self-contained static HTML page.

The page holds the sweep's hypothesis (its sweep.json, or the built-in sweep's docstring), the
table of experiments.tables (mean ± std over seeds, the paired difference to the baseline and
its paired-t p-value, the published reference where the sweep has one), the data sets and
training settings the runs recorded, and the figures of experiments.plots embedded as base64
PNGs: learning curves, AUC vs depth, and for the first seed of every model x family the learned
connection quantities over training and the heatmaps of the adjacency and stream-mixing
matrices. No scripts, no external files: it opens anywhere and can be mailed or attached to an
issue as it is.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import html
import json
import pathlib

CSS = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1200px; margin: 2em auto; color: #222;
       padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
.hypothesis { white-space: pre-wrap; background: #f5f7fa; border-left: 4px solid #4a78b5;
              padding: .8em 1em; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #eef1f5; } td.key { text-align: left; }
tr.baseline td { background: #f7f7f7; } td.significant { font-weight: bold; color: #a1261d; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption, .meta { color: #555; font-size: 13px; } code { font-size: 12px; }
"""


def _img(path: pathlib.Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    text = html.escape(caption)
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{text}">'
            f"<figcaption>{text}</figcaption></figure>")  # fmt: skip


def _table(table, metric: str, baseline: str) -> str:
    from experiments.tables import table_cells

    head, rows = table_cells(table, metric)
    keys = [c for c in ("model", "family", "depth", "norm", "norm_position") if c in table]
    p_col = head.index("p (paired t)")
    out = ["<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head)]
    out.append("</tr></thead><tbody>")
    for (_, r), cells in zip(table.iterrows(), rows, strict=True):
        base = baseline in (r.get("family"), r.get("norm"))
        out.append('<tr class="baseline">' if base else "<tr>")
        for j, cell in enumerate(cells):
            cls = "key" if j < len(keys) else ""
            if j == p_col and cell and float(cell) < 0.05:
                cls = "significant"
            out.append(f'<td class="{cls}">{html.escape(cell)}</td>')
        out.append("</tr>")
    return "".join(out) + "</tbody></table>"


def figures(df, out: pathlib.Path) -> list[tuple[str, list[tuple[pathlib.Path, str]]]]:
    """(section title, [(png, caption)]) of the plots, drawn into `out` by experiments.plots."""
    from experiments import plots

    out.mkdir(parents=True, exist_ok=True)
    sections = [("Learning curves", [(plots.learning_curves(df, out), "valid AUC per epoch, "
                                      "every run (one colour per family)")])]  # fmt: skip
    depth = plots.auc_vs_depth(df, out)
    if depth is not None:
        sections.append(("AUC vs depth", [(depth, "mean ± std over seeds")]))
    keys = [k for k in ("model", "family", "depth", "norm", "norm_position") if k in df]
    first = df.sort_values("seed").drop_duplicates(keys)
    learned = []
    for i in range(len(first)):
        r = first.iloc[i]
        name = f"{r['model']}/{r['family']} depth {r['depth']} seed {r['seed']}"
        for path in plots.connection_trajectories(first.iloc[[i]], out):
            learned.append((path, f"{name}: learned connection quantities per layer"))
        heat = plots.adjacency_over_training(r["path"], out)
        if heat is not None:
            learned.append((heat, f"{name}: adjacency and stream-mixing matrices"))
    if learned:
        sections.append(("Learned connections", learned))
    return sections


def settings(df) -> str:
    """The distinct data sets and training settings the runs used (train: where they differ
    from TrainConfig's defaults), as the runs' own result.json files record them."""
    from experiments.configs import TrainConfig

    defaults = json.loads(json.dumps(dataclasses.asdict(TrainConfig())))
    seen: dict[str, dict[str, int]] = {"data": {}, "train": {}}
    for path in df["path"]:
        config = json.loads((pathlib.Path(path) / "result.json").read_text())["config"]
        train = {k: v for k, v in config["train"].items() if defaults.get(k) != v}
        for section, value in (("data", config["data"]), ("train", train)):
            key = json.dumps(value, sort_keys=True)
            seen[section][key] = seen[section].get(key, 0) + 1
    items = [
        f"<li>{section}: <code>{html.escape(key)}</code> ({n} runs)</li>"
        for section, counts in seen.items()
        for key, n in counts.items()
    ]
    return "<ul class='meta'>" + "".join(items) + "</ul>"


def write_report(workdir, reference=None, metric=None, baseline=None) -> pathlib.Path:
    """Writes workdir/report.html (and the PNGs it embeds under workdir/plots/); returns it."""
    from experiments.sweep_files import describe
    from experiments.tables import load_results, single_sweep, summary

    workdir = pathlib.Path(workdir)
    df = load_results(workdir)
    sweep = describe(workdir, single_sweep(df))
    table, metric, title = summary(workdir, reference, metric, baseline)
    diff_col = next(c for c in table.columns if c.startswith("diff_vs_"))
    base = diff_col.removeprefix("diff_vs_")
    name = sweep["name"] or workdir.name
    devices = ", ".join(sorted(set(df["device"].fillna("?"))))
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>resctr: "
        f"{html.escape(name)}</title><style>{CSS}</style></head><body>",
        f"<h1>Sweep {html.escape(name)}</h1>",
        f'<p class="meta">{len(df)} runs in {html.escape(str(workdir))}; source '
        f"{html.escape(str(sweep['source']))}; device {html.escape(devices)}; page written "
        f"{datetime.datetime.now().isoformat(timespec='seconds')}</p>",
        "<h2>Hypothesis</h2>",
        f'<div class="hypothesis">{html.escape(sweep["hypothesis"] or "(not recorded)")}</div>',
        "<h2>Results</h2>",
        f"<p><b>{html.escape(title)}</b></p>" if title else "",
        f"<p class='meta'>{html.escape(metric)}, mean ± std over seeds; {diff_col}: the mean "
        f"difference to {html.escape(base)} paired by seed, p: paired t-test over seeds (bold: "
        "p &lt; 0.05, uncorrected for the number of tests). Diverged runs are counted apart.</p>",
        _table(table, metric, base),
        "<h2>Settings</h2>",
        settings(df),
    ]
    for section, images in figures(df, workdir / "plots"):
        parts.append(f"<h2>{html.escape(section)}</h2>")
        parts += [_img(path, caption) for path, caption in images]
    parts.append("</body></html>")
    path = workdir / "report.html"
    path.write_text("\n".join(parts))
    return path
