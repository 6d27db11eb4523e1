"""The prepared-data cache: one folder per (data set, options), written atomically.

Layout: `<data_dir>/<name>/<key>/` holding spec.json, info.json, options.json,
`<split>/<column>.npy` and `records/` (TFDS array_record files of the real data sets),
where `key` hashes the fully-defaulted options, so `load("synthetic")` and
`load("synthetic", rows=20000)` share a folder. A prepare writes into a temporary sibling and
renames it into place at the end: a folder that exists is complete, a failed prepare leaves
nothing behind. Splits are stored as one .npy per decoded column, so a cached load is a
few memory copies (no CSV parsing, no record decoding).
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import uuid

import numpy as np

from ctr.features import FeatureSpec

STORE_VERSION = 2  # bump when the prepared layout or any builder's output changes
# 2: raw Criteo reads valid.txt / test.txt next to train.txt instead of re-splitting it


def default_data_dir() -> pathlib.Path:
    env = os.environ.get("RESCTR_DATA_DIR")
    return pathlib.Path(env) if env else pathlib.Path.home() / ".cache" / "resctr" / "data"


def folder_for(data_dir, name: str, options: dict) -> pathlib.Path:
    blob = json.dumps({"v": STORE_VERSION, **options}, sort_keys=True)
    key = hashlib.sha1(blob.encode()).hexdigest()[:12]
    return pathlib.Path(data_dir or default_data_dir()).expanduser() / name / key


def is_prepared(folder: pathlib.Path) -> bool:
    return (folder / "spec.json").is_file()


def write(folder: pathlib.Path, spec, splits: dict, info: dict, options: dict, records_fn=None):
    """Writes the data set into a temp sibling and renames it to `folder` when complete."""
    for split, cols in splits.items():
        for col, values in cols.items():  # the batch contract: ids int32, everything else f32
            if values.dtype not in (np.int32, np.float32):
                raise TypeError(f"{split}/{col}: dtype {values.dtype}, expected int32 or float32")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".tmp-{folder.name}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        for split, cols in splits.items():
            (tmp / split).mkdir()
            for col, values in cols.items():
                np.save(tmp / split / f"{col}.npy", values, allow_pickle=False)
        if records_fn is not None:
            records_fn(tmp / "records")
        (tmp / "options.json").write_text(json.dumps(options, indent=1, sort_keys=True))
        (tmp / "info.json").write_text(json.dumps(info, indent=1, sort_keys=True))
        # spec.json last: its presence is what marks a folder complete.
        (tmp / "spec.json").write_text(json.dumps(spec.to_json(), indent=1))
        old = None
        if folder.exists():
            old = folder.parent / f".old-{folder.name}-{uuid.uuid4().hex[:8]}"
            folder.rename(old)
        tmp.rename(folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def read_spec(folder: pathlib.Path) -> FeatureSpec:
    return FeatureSpec.from_json(json.loads((folder / "spec.json").read_text()))


def read_info(folder: pathlib.Path) -> dict:
    return json.loads((folder / "info.json").read_text())


def read_splits(folder: pathlib.Path) -> dict[str, dict[str, np.ndarray]]:
    splits = {}
    for split in ("train", "valid", "test"):
        if (folder / split).is_dir():
            cols = sorted((folder / split).glob("*.npy"))
            splits[split] = {p.stem: np.load(p, allow_pickle=False) for p in cols}
    return splits
