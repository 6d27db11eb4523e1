"""Every raw format: columns, dtypes, train-only vocabularies, oracle values from the raw text."""

import gzip

import numpy as np
import pytest
import raw_files

import ctr.datasets as D
from ctr.datasets import criteo, records


def test_csv_builder_schema_and_train_only_vocab(tmp_path):
    raw = raw_files.bars_folder(tmp_path / "raw", gz=True)
    spec, splits = D.load(
        "csv", data_dir=tmp_path / "d", manual_dir=raw, numeric="price", sequence="hist", max_len=3
    )
    assert [(f.name, f.kind) for f in spec.fields] == [
        ("user", "categorical"),
        ("item", "categorical"),
        ("city", "categorical"),
        ("price", "numeric"),
        ("hist", "sequence"),
    ]
    assert set(splits) == {"train", "valid", "test"}
    with gzip.open(raw / "train.csv.gz", "rt") as f:
        lines = f.read().splitlines()[1:]
    rows = [line.split(",") for line in lines]
    train = splits["train"]
    np.testing.assert_array_equal(train["label"], [float(r[0]) for r in rows])
    np.testing.assert_allclose(train["price"], [float(r[4]) for r in rows], rtol=1e-6)
    assert train["price"].dtype == np.float32 and train["hist"].shape == (40, 3)
    # same raw value -> same id; distinct values -> distinct ids >= 2
    users = {r[1] for r in rows}
    ids = {r[1]: i for r, i in zip(rows, train["user"], strict=True)}
    assert len(set(ids.values())) == len(users) and min(ids.values()) >= 2
    assert spec.field("user").vocab_size == len(users) + 2
    # sequences: left-aligned, last max_len tokens kept, padded with 0
    for r, h in zip(rows, train["hist"], strict=True):
        tokens = [t for t in r[5].split("^") if t][-3:]
        assert (h[len(tokens) :] == 0).all() and (h[: len(tokens)] >= 2).all()


def test_value_only_in_valid_is_oov(tmp_path):
    raw = tmp_path / "raw"
    raw_files.write(raw / "train.csv", "label,a\n1,x\n0,y\n0,y\n")
    raw_files.write(raw / "valid.csv", "label,a\n1,z\n0,x\n")
    spec, splits = D.load("csv", data_dir=tmp_path, manual_dir=raw)
    assert "test" not in splits
    np.testing.assert_array_equal(splits["train"]["a"], [3, 2, 2])  # most frequent first
    np.testing.assert_array_equal(splits["valid"]["a"], [1, 3])  # z unseen in train -> OOV
    _, s2 = D.load("csv", data_dir=tmp_path, manual_dir=raw, min_count=2)
    np.testing.assert_array_equal(s2["train"]["a"], [1, 2, 2])


def test_frappe_layout_without_test(tmp_path):
    names = "label,user,item,daytime,weekday,isweekend,homework,cost,weather,country,city"
    row = "1,0,957,5039,5046,5053,5055,5058,5060,5069,5149"
    raw_files.write(tmp_path / "raw" / "train.csv", f"{names}\r\n{row}\r\n0{row[1:]}\r\n")
    raw_files.write(tmp_path / "raw" / "valid.csv", f"{names}\r\n{row}\r\n")
    spec, splits = D.load("frappe", data_dir=tmp_path, manual_dir=tmp_path / "raw")
    assert set(splits) == {"train", "valid"} and spec.num_fields == 10
    np.testing.assert_array_equal(splits["train"]["label"], [1.0, 0.0])


def test_criteo_raw_bucketing(tmp_path):
    path = raw_files.criteo_raw(tmp_path / "raw")
    spec, splits = D.load("criteo", data_dir=tmp_path, manual_dir=path.parent, min_count=1)
    assert spec.num_fields == 39 and all(f.kind == "categorical" for f in spec.fields)
    assert sum(len(s["label"]) for s in splits.values()) == 60
    assert [len(s["label"]) for s in splits.values()] == [48, 6, 6]
    np.testing.assert_array_equal(
        criteo.bucket(np.array([np.nan, -1, 0, 2, 3, 100.0])),
        ["", "-1", "0", "2", "1", str(int(np.floor(np.log(100) ** 2)))],
    )


def test_criteo_raw_reads_valid_and_test_files(tmp_path):
    """valid.txt / test.txt next to train.txt are those splits, row for row; vocabularies come
    from train.txt alone (a value only in valid.txt is OOV)."""
    raw = tmp_path / "raw"
    train = raw_files.criteo_raw(raw, rows=60)
    valid = raw_files.criteo_raw(raw, rows=10, seed=1, name="valid.txt")
    raw_files.criteo_raw(raw, rows=7, seed=2, name="test.txt.gz")
    rows = valid.read_text().splitlines()
    rows[0] = "\t".join([*rows[0].split("\t")[:14], "ffffffff", *rows[0].split("\t")[15:]])
    valid.write_text("\n".join(rows) + "\n")  # C1 = ffffffff: never seen in train
    spec, splits = D.load("criteo", data_dir=tmp_path, manual_dir=raw, min_count=1)
    assert {s: len(v["label"]) for s, v in splits.items()} == {"train": 60, "valid": 10, "test": 7}
    for split, path in (("train", train), ("valid", valid)):
        fields = [line.split("\t") for line in path.read_text().splitlines()]
        np.testing.assert_array_equal(splits[split]["label"], [float(f[0]) for f in fields])
        ids = dict(zip([f[14] for f in fields], splits[split]["C1"].tolist(), strict=True))
        if split == "train":
            train_ids = ids
            assert spec.field("C1").vocab_size == len(ids) + 2 and min(ids.values()) >= 2
        else:
            assert ids.pop("ffffffff") == 1  # OOV
            assert all(train_ids[v] == i for v, i in ids.items())  # same value, same id


def test_criteo_raw_cuts_only_the_missing_split_from_train(tmp_path):
    raw = tmp_path / "raw"
    raw_files.criteo_raw(raw, rows=60)
    raw_files.criteo_raw(raw, rows=7, seed=2, name="test.txt")
    _, splits = D.load("criteo", data_dir=tmp_path, manual_dir=raw, min_count=1)
    assert {s: len(v["label"]) for s, v in splits.items()} == {"train": 54, "valid": 6, "test": 7}


def test_criteo_kaggle_unlabeled_test_is_an_error_unless_file_is_named(tmp_path):
    raw = tmp_path / "raw"
    raw_files.criteo_raw(raw, rows=60)
    raw_files.criteo_raw(raw, rows=7, seed=2, name="test.txt", label=False)
    with pytest.raises(D.DataError, match=r"test\.txt: 39 fields, no label.*file=train\.txt"):
        D.load("criteo", data_dir=tmp_path, manual_dir=raw, min_count=1)
    _, splits = D.load("criteo", data_dir=tmp_path, manual_dir=raw, min_count=1, file="train.txt")
    assert [len(s["label"]) for s in splits.values()] == [48, 6, 6]  # train.txt alone, re-split


def test_criteo_bars_csv(tmp_path):
    header = "label," + ",".join(criteo.INTEGER + criteo.CATEGORICAL)
    row = "0,,3,260.0" + ",1" * 10 + ",a" * 26
    raw_files.write(tmp_path / "raw" / "train.csv", f"{header}\n{row}\n1{row[1:]}\n")
    raw_files.write(tmp_path / "raw" / "valid.csv", f"{header}\n{row}\n")
    spec, splits = D.load("criteo", data_dir=tmp_path, manual_dir=tmp_path / "raw", min_count=1)
    assert splits["valid"]["I1"][0] == splits["train"]["I1"][0] >= 2  # missing: its own id
    assert spec.field("I3").vocab_size == 3  # 260 -> floor(log(260)^2) = 30, one value


def test_avazu_raw_hour_split(tmp_path):
    path = raw_files.avazu_raw(tmp_path / "raw")
    spec, splits = D.load("avazu", data_dir=tmp_path, manual_dir=path.parent, min_count=1)
    names = [f.name for f in spec.fields]
    assert names[:2] == ["hour", "weekday"] and "id" not in names and "click" not in names
    assert spec.num_fields == 23
    # 2014-10-21 is a Tuesday, 22 Wednesday, 23 Thursday: 3 weekdays, 24 hours at most
    assert spec.field("weekday").vocab_size <= 5 and spec.field("hour").vocab_size <= 26


def test_amazon_leave_last_out(tmp_path):
    path = raw_files.amazon_file(tmp_path / "raw")
    spec, s = D.load("amazon", data_dir=tmp_path, manual_dir=path.parent, max_len=4)
    assert spec.user_field == "user" and spec.field("hist").table == spec.field("item").table
    users = [list(map(int, line.split()[1:])) for line in path.read_text().splitlines()]
    assert len(s["test"]["label"]) == 2 * len(users) == len(s["valid"]["label"])
    assert len(s["train"]["label"]) == 2 * sum(len(u) - 3 for u in users)
    for split in s.values():
        np.testing.assert_array_equal(split["label"][::2], 1.0)
        np.testing.assert_array_equal(split["label"][1::2], 0.0)
        # a negative shares its positive's user and history, never its item
        np.testing.assert_array_equal(split["user"][::2], split["user"][1::2])
        np.testing.assert_array_equal(split["hist"][::2], split["hist"][1::2])
        assert (split["item"][::2] != split["item"][1::2]).all()
        np.testing.assert_array_equal(split["hist_len"], (split["hist"] > 0).sum(1))
    # test history = every earlier item (last 4 kept); its length says so
    np.testing.assert_array_equal(s["test"]["hist_len"][::2], [min(len(u) - 1, 4) for u in users])


def test_amazon_negatives_never_seen_by_user(tmp_path):
    path = raw_files.amazon_file(tmp_path / "raw", users=20, items=12)
    _, s = D.load("amazon", data_dir=tmp_path, manual_dir=path.parent, min_count=1)
    # ids are shared by every split, so per (known) user no negative id is a positive id
    id_of_user = {}
    for split in s.values():
        for u, item, y in zip(split["user"], split["item"], split["label"], strict=True):
            if u != 1 and item != 1:  # users with 3 items have no train row: OOV elsewhere
                id_of_user.setdefault(u, set()).add((int(item), y))
    assert len(id_of_user) > 10
    for pairs in id_of_user.values():
        pos = {i for i, y in pairs if y == 1}
        assert not pos & {i for i, y in pairs if y == 0}


def test_records_round_trip(tmp_path):
    raw = raw_files.bars_folder(tmp_path / "raw", rows=10)
    folder = D.prepare("csv", data_dir=tmp_path, manual_dir=raw, records=True, sequence="hist")
    _, splits = D.load("csv", data_dir=tmp_path, sequence="hist")
    got = records.read(folder / "records", "valid")
    assert set(got) == set(splits["valid"])
    for col, values in splits["valid"].items():
        np.testing.assert_array_equal(got[col], values)


@pytest.mark.parametrize("bad", ["rows=0", "rowz=3"])
def test_bad_options(tmp_path, bad):
    key, value = bad.split("=")
    with pytest.raises(ValueError):
        D.load("synthetic", data_dir=tmp_path, **{key: value})
