"""Bad raw input: one DataError naming the file, the line and the problem; nothing half-written."""

import gzip

import pytest
import raw_files

import ctr.datasets as D
from ctr.datasets import store

HEADER = "label,a,price\n"
GOOD = "1,x,0.5\n0,y,1.5\n"


def _prepare(tmp_path, train: str, valid: str = HEADER + GOOD, **options):
    raw = tmp_path / "raw"
    raw_files.write(raw / "train.csv", train)
    raw_files.write(raw / "valid.csv", valid)
    return D.prepare("csv", data_dir=tmp_path / "data", manual_dir=raw, numeric="price", **options)


@pytest.mark.parametrize(
    "train,pattern",
    [
        (HEADER + GOOD + "2,x,0.1\n", r"train\.csv, line 4: label '2' is not 0 or 1"),
        (
            HEADER + GOOD + "1,x,abc\n",
            r"train\.csv, line 4: column 'price' is numeric but holds 'abc'",
        ),
        (HEADER + GOOD + "1,x,\n", r"train\.csv, line 4: column 'price' is numeric but holds ''"),
        (HEADER + "1,x\n" + GOOD, r"train\.csv, line 2: 2 fields, expected 3"),
        (HEADER + GOOD + "1,x,0.5,9\n", r"train\.csv, line 4: 4 fields, expected 3"),
        ("", r"train\.csv: the file is empty"),
        (HEADER, r"train\.csv: no data rows"),
        ("label,price\n1,0.5\n", r"train\.csv, line 1: .*missing \['a'\]"),
        ("label,a,price,b\n1,x,0.5,z\n", r"train\.csv, line 1: .*extra \['b'\]"),
    ],
)
def test_bad_train_file(tmp_path, train, pattern):
    with pytest.raises(D.DataError, match=pattern):
        _prepare(tmp_path, train, categorical="a")
    # nothing half-written: no data set folder, no temporary folder
    assert not [p for p in (tmp_path / "data").rglob("*") if p.is_file()]


def test_valid_checked_against_schema(tmp_path):
    with pytest.raises(D.DataError, match=r"valid\.csv, line 1: .*extra \['b'\]"):
        _prepare(tmp_path, HEADER + GOOD, valid="label,a,price,b\n1,x,0.5,z\n")
    with pytest.raises(D.DataError, match=r"valid\.csv, line 3: label 'yes'"):
        _prepare(tmp_path, HEADER + GOOD, valid=HEADER + "1,x,0.5\nyes,x,0.5\n")


def test_truncated_gzip(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    blob = gzip.compress((HEADER + GOOD * 2000).encode())
    (raw / "train.csv.gz").write_bytes(blob[: len(blob) // 2])
    raw_files.write(raw / "valid.csv", HEADER + GOOD)
    with pytest.raises(D.DataError, match=r"train\.csv\.gz, line \d+: cannot read .*truncated"):
        D.prepare("csv", data_dir=tmp_path / "d", manual_dir=raw, numeric="price")


def test_missing_train_and_unprepared(tmp_path):
    raw_files.write(tmp_path / "raw" / "valid.csv", HEADER + GOOD)
    with pytest.raises(D.DataError, match="no train.csv"):
        D.prepare("csv", data_dir=tmp_path, manual_dir=tmp_path / "raw")
    with pytest.raises(D.DataError, match="resctr data prepare frappe --manual-dir"):
        D.load("frappe", data_dir=tmp_path)


def test_failed_prepare_keeps_previous_data_set(tmp_path):
    folder = _prepare(tmp_path, HEADER + GOOD)
    before = sorted(p.name for p in folder.rglob("*"))
    with pytest.raises(D.DataError):
        _prepare(tmp_path, HEADER + GOOD + "7,x,1\n", force=True)
    assert sorted(p.name for p in folder.rglob("*")) == before
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def test_write_failing_midway_leaves_nothing(tmp_path):
    spec, splits = D.load("synthetic", data_dir=tmp_path / "ok", rows=50)
    folder = tmp_path / "d" / "synthetic" / "key"

    def fail(path):
        path.mkdir()
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store.write(folder, spec, splits, {}, {}, records_fn=fail)
    assert list(folder.parent.iterdir()) == []


def test_amazon_and_avazu_errors(tmp_path):
    raw_files.write(tmp_path / "a" / "x.txt", "1 1 2 3\n2 4 five 6\n")
    with pytest.raises(D.DataError, match=r"x\.txt, line 2: item ids must be integers"):
        D.load("amazon", data_dir=tmp_path, manual_dir=tmp_path / "a")
    raw_files.write(tmp_path / "b" / "x.txt", "1 1 2 3\n2 4 5 6\n3 6 7 8\n4 8\n")
    with pytest.raises(D.DataError, match=r"x\.txt, line 4: user 4 has 1 items"):
        D.load("amazon", data_dir=tmp_path, manual_dir=tmp_path / "b")
    path = raw_files.avazu_raw(tmp_path / "c", rows=5)
    text = path.read_text().splitlines()
    fields = text[3].split(",")
    fields[2] = "14102199"
    path.write_text("\n".join([*text[:3], ",".join(fields), *text[4:]]) + "\n")
    with pytest.raises(D.DataError, match=r"train, line 4: hour '14102199' is not a YYMMDDHH"):
        D.load("avazu", data_dir=tmp_path, manual_dir=path.parent, valid=0.0, test=0.0)
