"""Schema files (`resctr data prepare csv --schema FILE`): the columns written once, under a name
that `data info`, `load` and sweep files use; per-column separators and lengths; a bad schema
names the column and what is wrong."""

import json

import numpy as np
import pytest
import raw_files
import yaml

import ctr.datasets as D
from ctr.datasets import schema
from experiments import cli

# label,user,item,city,price,hist (raw_files.bars_folder) plus a '|' bag of genres
HEADER = "label,user,item,genres,hist\n"
TRAIN = "1,u1,i1,Comedy|Drama,i2^i3\n0,u2,i2,Drama,\n1,u1,i3,Action|Comedy|Drama|Horror,i1\n"
VALID = "0,u3,i1,Comedy|Western,i3^i1^i2\n"
SCHEMA = {
    "name": "shop",
    "label": "label",
    "categorical": ["user", "item"],
    "multihot": {"genres": {"sep": "|", "max_len": 3}},
    "sequence": {"hist": {"sep": "^", "max_len": 2}},
}


@pytest.fixture
def raw(tmp_path):
    raw_files.write(tmp_path / "raw" / "train.csv", HEADER + TRAIN)
    raw_files.write(tmp_path / "raw" / "valid.csv", HEADER + VALID)
    return tmp_path / "raw"


def _write(path, content):
    text = yaml.safe_dump(content) if path.suffix == ".yaml" else json.dumps(content)
    path.write_text(text)
    return path


def test_yaml_and_json_schemas_prepare_the_same_named_set(tmp_path, raw, capsys):
    data = str(tmp_path / "d")
    for suffix in (".yaml", ".json"):
        path = _write(tmp_path / f"schema{suffix}", SCHEMA)
        argv = ["data", "prepare", "csv", "--schema", str(path), "--manual-dir", str(raw)]
        assert cli.main([*argv, "--data-dir", data]) == 0
    assert "prepared shop" in capsys.readouterr().out
    # by name: no schema file, no raw folder
    assert cli.main(["data", "info", "shop", "--data-dir", data]) == 0
    out = capsys.readouterr().out
    assert "genres            multihot" in out and "hist              sequence" in out
    spec, splits = D.load("shop", data_dir=data)
    assert [(f.name, f.kind, f.max_len) for f in spec.fields] == [
        ("user", "categorical", 0), ("item", "categorical", 0),
        ("hist", "sequence", 2), ("genres", "multihot", 3),
    ]  # fmt: skip
    # genres by train count: Drama 3, Comedy 2, Action 1, Horror 1 -> ids 2, 3, 4, 5
    np.testing.assert_array_equal(
        splits["train"]["genres"], [[3, 2, 0], [2, 0, 0], [3, 2, 5]]
    )  # the last 3 tokens of a longer bag are kept
    np.testing.assert_array_equal(splits["valid"]["genres"], [[3, 1, 0]])  # Western: OOV
    # hist by its own vocabulary (i1, i2, i3 once each), the last 2 tokens
    np.testing.assert_array_equal(splits["valid"]["hist"], [[2, 3]])
    # the name stands for the csv builder with the schema's options
    _, direct = D.load("csv", data_dir=tmp_path / "d2", manual_dir=raw,
                       **schema.to_options(SCHEMA)[1])  # fmt: skip
    for split in splits:
        for col in splits[split]:
            np.testing.assert_array_equal(splits[split][col], direct[split][col])


def test_a_history_shares_its_items_table_and_the_user_column_gives_gauc(tmp_path, raw):
    grouped = {**SCHEMA, "user": "user", "sequence": {"hist": {"sep": "^", "max_len": 2,
                                                               "group": "item"}}}  # fmt: skip
    D.prepare_schema(_write(tmp_path / "s.yaml", grouped), data_dir=tmp_path, manual_dir=raw)
    spec, splits = D.load("shop", data_dir=tmp_path)
    assert spec.user_field == "user" and spec.field("hist").table == "item"
    # one vocabulary over train's item column and train's histories: i1, i2 and i3 twice each
    # (once as the item, once in a history), so ids by value
    assert spec.field("item").vocab_size == spec.field("hist").vocab_size == 3 + 2
    np.testing.assert_array_equal(splits["train"]["item"], [2, 3, 4])
    np.testing.assert_array_equal(splits["valid"]["hist"], [[2, 3]])  # i3^i1^i2: the last 2
    from ctr.layers.sequence import behaviour_fields

    assert [(s.name, t.name) for s, t in behaviour_fields(spec)] == [("hist", "item")]


def test_a_changed_schema_gives_other_run_ids(tmp_path, raw):
    from experiments.configs import DataConfig
    from experiments.sweep_files import named_data

    data = tmp_path / "d"
    D.prepare_schema(_write(tmp_path / "s.json", SCHEMA), data_dir=data, manual_dir=raw)
    first = named_data(DataConfig(name="shop"), data)
    assert first.options["multihot"] == "genres" and first.options["label"] == "label"
    longer = {**SCHEMA, "multihot": {"genres": {"sep": "|", "max_len": 4}}}
    D.prepare_schema(_write(tmp_path / "s.json", longer), data_dir=data, manual_dir=raw)
    assert named_data(DataConfig(name="shop"), data).options != first.options
    spec, _ = D.load("shop", data_dir=data)
    assert spec.field("genres").max_len == 4


@pytest.mark.parametrize(
    "change,message",
    [
        ({"catgorical": ["user"]}, "unknown key(s) ['catgorical']"),
        ({"name": "csv"}, "'name' must be a word"),
        ({"label": None}, "'label' must name the 0/1 click column"),
        ({"numeric": "price"}, "'numeric' must be a list of column names"),
        ({"numeric": ["item"]}, "column 'item' is both categorical and numeric"),
        ({"multihot": {"genres": {"sep": "|"}}}, "multihot column 'genres' needs ['max_len']"),
        ({"multihot": {"genres": {"sep": "|", "max_len": 0}}},
         "multihot column 'genres': max_len must be an integer >= 1, got 0"),
        ({"multihot": {"genres": {"sep": ",", "max_len": 3}}},
         "multihot column 'genres': sep ',' is the file's delimiter too"),
        ({"sequence": {"hist": {"sep": "^", "max_len": 2, "group": "genres"}}},
         "sequence column 'hist': group 'genres' must be a column listed under categorical"),
        ({"user": "genres"}, "'user' 'genres' must be a column listed under categorical"),
        ({"min_count": 0}, "'min_count' must be an integer >= 1"),
    ],
)  # fmt: skip
def test_a_bad_schema_names_the_column_and_the_fix(tmp_path, raw, change, message):
    path = _write(tmp_path / "bad.yaml", {**SCHEMA, **change})
    with pytest.raises(schema.SchemaError) as e:
        D.prepare_schema(path, data_dir=tmp_path, manual_dir=raw)
    assert message in str(e.value) and "bad.yaml" in str(e.value)


def test_columns_that_do_not_match_the_file_are_named(tmp_path, raw, capsys):
    path = _write(tmp_path / "s.yaml", {**SCHEMA, "categorical": ["user", "item", "city"]})
    argv = ["data", "prepare", "csv", "--schema", str(path), "--manual-dir", str(raw)]
    assert cli.main([*argv, "--data-dir", str(tmp_path)]) == 2
    assert "missing ['city']" in capsys.readouterr().err
    numeric = _write(tmp_path / "n.yaml", {**SCHEMA, "categorical": ["user"], "numeric": ["item"]})
    with pytest.raises(D.DataError, match=r"train.csv, line 2: column 'item' is numeric but"):
        D.prepare_schema(numeric, data_dir=tmp_path, manual_dir=raw)
    assert not (tmp_path / "shop" / schema.REGISTRY).exists()  # a failed prepare registers nothing


def test_unknown_names_and_mixed_options_are_refused(tmp_path, raw, capsys):
    assert cli.main(["data", "info", "nosuch", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown data set 'nosuch'" in err and "--schema FILE" in err
    path = _write(tmp_path / "s.yaml", SCHEMA)
    argv = ["data", "prepare", "csv", "--schema", str(path), "--manual-dir", str(raw)]
    assert cli.main([*argv, "--option", "min_count=2"]) == 2
    assert "every option in the schema file" in capsys.readouterr().err
