"""Raw-table reading and train-only vocabularies, shared by every file-based builder.

Files are parsed with the stdlib `csv` module rather than pandas because pandas pads a short
row with NaN and carries on; here every row is checked and a bad one stops the prepare with one
`DataError` naming the file, the line and the fix.

Vocabulary (BARS / FuxiCTR convention): built on the train split only; a value seen at least
`min_count` times in train gets id >= 2 (most frequent first), anything else maps to OOV = 1;
0 is padding.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import pathlib
import zlib

import numpy as np

from ctr.features import OOV_ID, PAD_ID

SPLITS = ("train", "valid", "test")


class DataError(ValueError):
    """Bad raw input: the message names the file, the line and what to change."""


def where(path, line: int | None = None) -> str:
    return f"{path}" if line is None else f"{path}, line {line}"


def find_split_file(folder: pathlib.Path, split: str, ext: str = "csv") -> pathlib.Path | None:
    """`split.ext` or `split.ext.gz` (a BARS-layout folder: ext csv); None when absent."""
    found = [p for p in (folder / f"{split}.{ext}", folder / f"{split}.{ext}.gz") if p.is_file()]
    if len(found) > 1:
        raise DataError(f"{folder}: both {found[0].name} and {found[1].name}; keep one")
    return found[0] if found else None


def open_text(path: pathlib.Path):
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


@dataclasses.dataclass
class Table:
    """Raw string columns of one file, with the file line of every row (for error messages)."""

    path: pathlib.Path
    columns: dict[str, np.ndarray]
    lines: np.ndarray

    def take(self, rows: np.ndarray) -> Table:
        cols = {c: v[rows] for c, v in self.columns.items()}
        return Table(self.path, cols, self.lines[rows])

    def error(self, row: int, what: str) -> DataError:
        return DataError(f"{where(self.path, int(self.lines[row]))}: {what}")


def read_table(path, *, delimiter: str = ",", names: list[str] | None = None) -> Table:
    """A delimited file as string columns; the header gives the names unless `names` is given.

    Every row must have exactly as many fields as there are names.
    """
    path = pathlib.Path(path)
    rows: list[list[str]] = []
    lines: list[int] = []
    line = 0
    try:
        with open_text(path) as f:
            reader = csv.reader(f, delimiter=delimiter)
            if names is None:
                names = next(reader, None)
                if names is None:
                    raise DataError(f"{path}: the file is empty; expected a header line")
                names = [n.strip() for n in names]
                if len(set(names)) != len(names):
                    raise DataError(f"{where(path, 1)}: duplicate column names in {names}")
            for row in reader:
                line = reader.line_num
                if len(row) != len(names):
                    raise DataError(
                        f"{where(path, line)}: {len(row)} fields, expected {len(names)} "
                        f"({', '.join(names)}); fix or remove this row"
                    )
                rows.append(row)
                lines.append(line)
    except (EOFError, OSError, zlib.error, UnicodeDecodeError, csv.Error) as e:
        raise DataError(
            f"{where(path, line + 1)}: cannot read ({type(e).__name__}: {e}); the file is "
            "truncated or corrupt: re-download or re-compress it"
        ) from e
    if not rows:
        raise DataError(f"{path}: no data rows; a split file needs at least one row")
    values = np.asarray(rows, dtype=str).reshape(len(rows), len(names))
    return Table(path, dict(zip(names, values.T, strict=True)), np.asarray(lines, np.int64))


def check_columns(table: Table, expected: list[str]) -> None:
    """Exactly the expected columns (any order)."""
    names = list(table.columns)
    missing = [c for c in expected if c not in names]
    extra = [c for c in names if c not in expected]
    if missing or extra:
        raise DataError(
            f"{where(table.path, 1)}: columns {names}: missing {missing}, extra {extra}; "
            f"expected exactly {expected} (set the schema options to match the file)"
        )


def parse_labels(table: Table, column: str) -> np.ndarray:
    """0/1 labels as float32 ("0", "1", "0.0", "1.0" accepted; anything else is an error)."""
    values = table.columns[column]
    ok = np.isin(values, ("0", "1", "0.0", "1.0"))
    if not ok.all():
        i = int(np.argmin(ok))
        raise table.error(
            i, f"label {str(values[i])!r} is not 0 or 1; labels must be binary clicks"
        )
    return np.isin(values, ("1", "1.0")).astype(np.float32)


def parse_numeric(table: Table, column: str, *, empty: float | None = None) -> np.ndarray:
    """float64 values; non-numeric entries (empty ones too, unless `empty` is set) are errors."""
    values = table.columns[column].tolist()
    out = np.empty(len(values), np.float64)
    for i, v in enumerate(values):
        try:
            out[i] = empty if (v == "" and empty is not None) else float(v)
        except ValueError:
            raise table.error(
                i,
                f"column {column!r} is numeric but holds {v!r}; fix the value or declare "
                "the column categorical",
            ) from None
        if not np.isfinite(out[i]) and v != "":
            raise table.error(i, f"column {column!r} holds {v!r}, not a finite number")
    return out


class Vocab:
    """Train-only vocabulary of one embedding table: value -> id (0 PAD, 1 OOV, >= 2 known)."""

    def __init__(self, train_values: np.ndarray, min_count: int = 1):
        values, counts = np.unique(np.asarray(train_values).ravel(), return_counts=True)
        keep = counts >= min_count
        values, counts = values[keep], counts[keep]
        order = np.lexsort((values, -counts))  # most frequent first, ties by value
        self.values = values[order]
        self._sorted = values  # np.unique output is sorted: binary search on it
        self._ids = np.empty(len(values), np.int32)
        self._ids[order] = np.arange(2, 2 + len(values), dtype=np.int32)

    @property
    def size(self) -> int:
        """Number of ids including PAD and OOV (FeatureSpec's vocab_size)."""
        return len(self.values) + 2

    def encode(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values)
        if len(self._sorted) == 0:
            return np.full(values.shape, OOV_ID, np.int32)
        pos = np.clip(np.searchsorted(self._sorted, values), 0, len(self._sorted) - 1)
        return np.where(self._sorted[pos] == values, self._ids[pos], OOV_ID).astype(np.int32)

    def encode_sequences(self, values: np.ndarray, sep: str, max_len: int) -> np.ndarray:
        """ "a^b^c" strings -> (N, max_len) ids, left-aligned, the most recent max_len kept."""
        out = np.full((len(values), max_len), PAD_ID, np.int32)
        for i, s in enumerate(values.tolist()):
            items = [t for t in s.split(sep) if t][-max_len:]
            if items:
                out[i, : len(items)] = self.encode(np.asarray(items))
        return out


def split_tokens(values: np.ndarray, sep: str) -> np.ndarray:
    """All tokens of a column of separated sequences (to build their vocabulary)."""
    joined = sep.join(v for v in values.tolist() if v)
    return np.asarray([t for t in joined.split(sep) if t], dtype=str)


def random_split(table: Table, valid: float, test: float, seed: int) -> dict[str, Table]:
    """Seeded random train/valid/test split of one raw file (for sets shipped as a single file)."""
    if not (valid >= 0 and test >= 0 and valid + test < 1):
        raise ValueError(f"valid={valid}, test={test}: fractions must be >= 0 and sum below 1")
    n = len(table.lines)
    order = np.random.default_rng(seed).permutation(n)
    n_valid, n_test = round(n * valid), round(n * test)
    parts = {
        "train": order[n_valid + n_test :],
        "valid": order[:n_valid],
        "test": order[n_valid : n_valid + n_test],
    }
    return {s: table.take(np.sort(rows)) for s, rows in parts.items() if len(rows)}


def find_file(folder: pathlib.Path, option: str, candidates: tuple[str, ...]) -> pathlib.Path:
    """The raw file named by an option, else the first candidate name present in the folder."""
    names = (option,) if option else candidates
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: none of {list(names)} found; pass file=NAME to name the raw file")
