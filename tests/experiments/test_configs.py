"""Config validation, JSON round trip, stable run ids, dotted overrides."""

import dataclasses

import pytest
from runner_helpers import tiny

import resnets
from ctr.models import MODELS
from experiments.configs import (
    HASH_OMITTED_DEFAULTS,
    ConnectionConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    apply_overrides,
)


def test_round_trip_and_stable_run_id():
    cfg = tiny("deepfm", "scaled", seed=3)
    again = RunConfig.from_json(cfg.to_json())
    assert again.to_json() == cfg.to_json()
    assert again.run_id == cfg.run_id
    assert cfg.run_id.startswith("deepfm-scaled-s3-")
    other = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, lr=1e-2))
    assert other.run_id != cfg.run_id
    assert dataclasses.replace(cfg, sweep="x").run_id == cfg.run_id


def test_bad_configs_name_the_problem():
    with pytest.raises(ValueError, match="unknown model 'nope'.*" + sorted(MODELS)[0]):
        ModelConfig(name="nope")
    with pytest.raises(ValueError, match="unknown connection family 'nope'.*identity"):
        ConnectionConfig(name="nope")
    assert set(resnets.CONNECTIONS) >= {"none", "identity"}
    with pytest.raises(ValueError, match="'hiden'"):
        ModelConfig(name="dnn", options={"hiden": [3]})
    with pytest.raises(ValueError, match="no option 'bogus'"):
        ConnectionConfig(name="identity", options={"bogus": 1})
    with pytest.raises(ValueError, match="monitor"):
        TrainConfig(monitor="acc")
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="grad_clip_norm must be >= 0"):
        TrainConfig(grad_clip_norm=-1.0)
    with pytest.raises(ValueError, match="net_l2_params 'bias'.*all"):
        TrainConfig(net_l2_params="bias")
    with pytest.raises(ValueError, match="model.init 'torch'.*fuxictr"):
        ModelConfig(name="dnn", init="torch")


def test_overrides_parse_literals_and_revalidate():
    cfg = apply_overrides(tiny(), ["train.lr=3e-4", "model.options.hidden=[64,64]", "seed=7"])
    assert cfg.train.lr == 3e-4 and cfg.seed == 7
    assert cfg.model.options["hidden"] == [64, 64]
    assert apply_overrides(cfg, ["connection.name=identity"]).connection.name == "identity"
    with pytest.raises(ValueError, match="no key 'lrr'"):
        apply_overrides(cfg, ["train.lrr=1"])
    with pytest.raises(ValueError, match="key=value"):
        apply_overrides(cfg, ["train.lr"])
    with pytest.raises(ValueError, match="unknown model"):
        apply_overrides(cfg, ["model.name=nope"])


def test_run_id_is_stable_when_train_fields_are_added_at_their_defaults():
    # The id of this config was written before compute_dtype/optimizer existed: run folders of
    # earlier sweeps must keep resolving. A new train field belongs in HASH_OMITTED_DEFAULTS.
    # The same holds for the FuxiCTR parity options (model.init, train.grad_clip_norm, ...).
    base = RunConfig(model=ModelConfig(name="lr"))
    assert base.run_id == "lr-none-s0-168ab051"
    old_json = base.to_json()  # a config.json written before the new fields existed
    for section, defaults in HASH_OMITTED_DEFAULTS.items():
        for key in defaults:
            del old_json[section][key]
    assert RunConfig.from_json(old_json).run_id == base.run_id
    changed = [
        TrainConfig(compute_dtype="bfloat16"),
        TrainConfig(grad_clip_norm=10.0),
        TrainConfig(min_lr=1e-6),
        TrainConfig(min_delta=1e-6),
        TrainConfig(net_l2_params="all"),
    ]
    ids = {dataclasses.replace(base, train=t).run_id for t in changed}
    ids.add(dataclasses.replace(base, model=ModelConfig(name="lr", init="fuxictr")).run_id)
    assert len(ids) == len(changed) + 1 and base.run_id not in ids


@pytest.mark.parametrize(("family", "value"), [("dense", "uniform"), ("dag", "full")])
def test_renamed_option_reads_the_old_key_and_keeps_the_run_id(family, value):
    """dense's and dag's `init` became `preset` (it shadowed linen's Module.init): a stored config
    with the old key loads under the new name, and both spellings give the run id the old one
    had, so run folders stay valid."""
    old = tiny("dnn", family).to_json()
    old["connection"]["options"] = {"init": value}
    new = dict(old, connection={**old["connection"], "options": {"preset": value}})
    a, b = RunConfig.from_json(old), RunConfig.from_json(new)
    assert a.connection.options == b.connection.options == {"preset": value}
    assert a.run_id == b.run_id
    hashed = RunConfig.from_json(old).to_json()
    assert hashed["connection"]["options"] == {"preset": value}  # written under the new name
    with pytest.raises(ValueError, match="given twice"):
        ConnectionConfig(name=family, options={"init": value, "preset": value})
