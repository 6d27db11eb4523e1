"""A sweep, from its name or from a file: `resctr run --sweep NAME` or `--config FILE.py`.

A sweep is a function returning `list[RunConfig]` whose docstring states the hypothesis it
tests. The built-in ones live in experiments.sweeps (SWEEPS); a sweep file is any Python file
that defines the same thing as `sweep()` (big_vision's and the Flax examples' `--config
path/to/config.py`), so a user's grid lives in the user's repository, not in this package:

    \"\"\"Hypothesis: ...\"\"\"                       # the module's docstring, or sweep()'s
    from experiments.configs import DataConfig
    from experiments.sweeps import BARS_SEEDS, bars_grid

    BASELINE = "none"  # optional: the family `resctr table` pairs each row with
    REFERENCE = None   # optional: a published table of experiments.reference

    def sweep():
        return bars_grid(["dnn", "deepfm"], ["none", "identity"], BARS_SEEDS[:2],
                         data=DataConfig(name="movielens"))

The sweep's name, and its folder under --workdir, is the file's stem. Every config gets that
name, and a data set named by a schema (`resctr data prepare csv --schema`) gets the schema's
options, so run ids change when the schema does. `sweep.json` in the sweep folder records the
hypothesis, the source, the baseline and the reference for `resctr table` and `resctr report`.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import json
import pathlib
import re
import sys
from collections.abc import Callable

from experiments.configs import DataConfig, RunConfig

MANIFEST = "sweep.json"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Sweep:
    name: str
    make: Callable[[], list[RunConfig]]
    source: str  # the sweep file's absolute path, or "experiments.sweeps:NAME"
    hypothesis: str
    baseline: str | None = None
    reference: str | None = None

    def configs(self, data_dir=None) -> list[RunConfig]:
        """The grid, each run named after this sweep, named data sets resolved in `data_dir`."""
        runs = self.make()
        if not isinstance(runs, list | tuple) or not runs:
            raise ValueError(f"{self.source}: sweep() must return a non-empty list of RunConfig")
        bad = [type(r).__name__ for r in runs if not isinstance(r, RunConfig)]
        if bad:
            raise ValueError(f"{self.source}: sweep() returned {bad[0]}, not RunConfig")
        data = {}  # resolve each distinct data config once
        out = []
        for r in runs:
            key = json.dumps([r.data.name, r.data.options], sort_keys=True)
            if key not in data:
                data[key] = named_data(r.data, data_dir)
            out.append(dataclasses.replace(r, sweep=self.name, data=data[key]))
        seen: dict[str, RunConfig] = {}
        for r in out:
            if r.run_id in seen:
                raise ValueError(
                    f"{self.source}: sweep() returns run {r.run_id} twice (same config and "
                    "seed); a run trains once, so drop the duplicate"
                )
            seen[r.run_id] = r
        return out

    def manifest(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "hypothesis": self.hypothesis,
            "baseline": self.baseline,
            "reference": self.reference,
        }

    def write_manifest(self, sweep_dir: pathlib.Path) -> None:
        """Records where the sweep came from; says so when the folder held another source."""
        from experiments.rundir import write_json_atomic, writing

        path = pathlib.Path(sweep_dir) / MANIFEST
        old = read_manifest(sweep_dir)
        if old and old.get("source") != self.source:
            print(f"note: {sweep_dir} held runs of {old.get('source')}; now {self.source}")
        with writing(path):
            path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, self.manifest())


def named_data(data: DataConfig, data_dir) -> DataConfig:
    """A data set named by a prepared schema gets the schema's options (its own on top)."""
    from ctr.datasets import BUILDERS, schema

    if data.name in BUILDERS:
        return data
    options = schema.options_for(data.name, data_dir, data.options)
    return dataclasses.replace(data, options=options)


def _hypothesis(doc: str | None, where: str) -> str:
    text = inspect.cleandoc(doc or "")
    if not text:
        raise ValueError(
            f"{where}: state the sweep's hypothesis in a docstring (the module's or sweep()'s)"
        )
    return text


def builtin(name: str) -> Sweep:
    from experiments.reference import REFERENCES
    from experiments.sweeps import BASELINES, SWEEPS

    if name not in SWEEPS:
        raise ValueError(f"unknown sweep {name!r}; choose from {sorted(SWEEPS)}, or pass a "
                         "sweep file with --config FILE.py")  # fmt: skip
    fn = SWEEPS[name]
    return Sweep(
        name=name,
        make=fn,
        source=f"experiments.sweeps:{name}",
        hypothesis=_hypothesis(fn.__doc__, f"experiments.sweeps.{name}"),
        baseline=BASELINES.get(name),
        reference=name if name in REFERENCES else None,
    )


def from_file(path: str | pathlib.Path) -> Sweep:
    """Imports a sweep file (a fresh module each call) and checks its form."""
    path = pathlib.Path(path).expanduser().resolve()
    if path.suffix != ".py":
        raise ValueError(f"sweep file {path}: expected a Python file (FILE.py)")
    if not path.is_file():
        raise ValueError(f"sweep file {path} does not exist")
    if not NAME.fullmatch(path.stem):
        raise ValueError(f"sweep file {path}: its stem names the sweep's folder; rename it to "
                         "letters, digits, '_' and '-'")  # fmt: skip
    spec = importlib.util.spec_from_file_location(f"resctr_sweep_file_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    fn = getattr(module, "sweep", None)
    if not callable(fn):
        raise ValueError(f"{path} defines no sweep(); a sweep file defines "
                         "`def sweep() -> list[RunConfig]`")  # fmt: skip
    return Sweep(
        name=path.stem,
        make=fn,
        source=str(path),
        hypothesis=_hypothesis(module.__doc__ or fn.__doc__, str(path)),
        baseline=getattr(module, "BASELINE", None),
        reference=getattr(module, "REFERENCE", None),
    )


def load(sweep: str | None = None, config: str | None = None) -> Sweep:
    """The sweep named `sweep`, or defined in the file `config` (exactly one of them)."""
    if (sweep is None) == (config is None):
        raise ValueError("name a built-in sweep (--sweep NAME) or a sweep file (--config FILE.py)")
    return builtin(sweep) if sweep is not None else from_file(config)


def read_manifest(sweep_dir) -> dict | None:
    path = pathlib.Path(sweep_dir) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


def describe(sweep_dir, sweep_name: str | None) -> dict:
    """The sweep folder's manifest; for folders written before manifests, the built-in sweep of
    that name; else what is known (the name only)."""
    manifest = read_manifest(sweep_dir)
    if manifest is not None:
        return manifest
    try:
        return builtin(sweep_name).manifest()
    except ValueError:
        return {"name": sweep_name, "source": None, "hypothesis": None, "baseline": None,
                "reference": None}  # fmt: skip
