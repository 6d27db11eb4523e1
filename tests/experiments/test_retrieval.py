"""Retrieval runs: the leave-last-out split in both train row forms, popularity's known answer,
the sequence-form loss against the prefix form, stratified batches, planted next-item rules the
sequential models must learn, kill-and-resume, and the command line's errors."""

import dataclasses
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ctr.layers.sampled_softmax import full_softmax_loss
from experiments import cli, retrieval, retrieval_models
from experiments.protocol import StopRule
from experiments.retrieval_data import from_sequences, load
from experiments.rundir import RunDir

# train parts (items[:-2]) count 5:3, 6:3, 8:2, 7:1, 9:0 -> new ids 5:2, 6:3, 8:4, 7:5, 9:6
HAND_MADE = [[5, 6, 7, 8, 9], [5, 6, 8, 7, 9], [5, 8, 6, 9, 7]]


def test_split_and_relabel_by_train_popularity():
    d = from_sequences(HAND_MADE, max_len=2)
    np.testing.assert_array_equal(d.counts_V, [0, 0, 3, 3, 2, 1, 0])
    np.testing.assert_array_equal(d.train.hist_NxL[:2], [[2, 0], [2, 3]])  # [5] -> 6, [5, 6] -> 7
    np.testing.assert_array_equal(d.train.target_N[:2], [3, 5])
    np.testing.assert_array_equal(d.valid.hist_NxL[0], [3, 5])  # the last max_len=2 of 5, 6, 7
    np.testing.assert_array_equal(d.valid.seen_NxM[0], [2, 3, 5])  # the whole history
    np.testing.assert_array_equal(d.test.target_N, [6, 6, 5])
    np.testing.assert_array_equal(d.test.seen_NxM[2], [2, 4, 3, 6])


def test_sequence_rows_hold_the_prefix_rows_targets():
    d = from_sequences(HAND_MADE, max_len=2)
    # user 0 trains on 5, 6, 7 -> new ids 2, 3, 5; its last max_len + 1 = 3 items: all of them
    np.testing.assert_array_equal(d.train_sequences.input_NxL[0], [2, 3])
    np.testing.assert_array_equal(d.train_sequences.target_NxL[0], [3, 5])
    d = from_sequences([[1, 2, 3, 4, 5, 6, 7]], max_len=2)  # trains on 1..5: keeps 3, 4, 5
    np.testing.assert_array_equal(d.train_rows("sequence")[0], [[4, 5]])
    np.testing.assert_array_equal(d.train_rows("sequence")[1], [[5, 6]])
    with pytest.raises(ValueError, match=r"form 'users'; choose from \('prefix', 'sequence'\)"):
        d.train_rows("users")


def test_sequence_loss_is_the_mean_of_the_prefix_losses():
    """One pass of the causal SASRec over each user's train sequence gives, averaged over its
    real positions, the mean full-softmax loss of the same model run on every prefix alone."""
    seqs = [[5, 6, 7, 8, 9, 5], [5, 6, 8, 7, 9], [5, 8, 6, 9, 7, 6, 8], [9, 7, 5]]
    d = from_sequences(seqs, max_len=6)  # no train sequence is cut
    r = retrieval_models.build("sasrec", d.num_ids, 6)
    inputs, targets = d.train_rows("sequence")
    params = r.module.init(jax.random.key(0), jnp.asarray(inputs))["params"]
    params = jax.tree.map(  # away from the zero-init identity blocks
        lambda p: p + 0.3 * jax.random.normal(jax.random.key(p.size), p.shape), params
    )
    lengths = (targets != 0).sum(1)
    batches = retrieval.make_batch_fn("sequence", lengths, len(seqs))
    (input_1xBxL, (target_1xBxL, where_1xP)) = batches(inputs, targets, jax.random.key(1))
    assert where_1xP.shape[1] == retrieval.target_bound(lengths, len(seqs)) == lengths.sum()
    h, table = r.train_module.apply({"params": params}, input_1xBxL[0])
    seq_loss = r.loss(h, table, (target_1xBxL[0], where_1xP[0]), None)
    u, table = r.module.apply({"params": params}, jnp.asarray(d.train.hist_NxL))
    prefix_loss = full_softmax_loss(u, table, jnp.asarray(d.train.target_N)).mean()
    assert len(d.train.target_N) == lengths.sum() == 9  # the last user has none
    np.testing.assert_allclose(seq_loss, prefix_loss, rtol=1e-5)


def test_stratified_batches_partition_the_rows_under_the_bound():
    lengths = np.random.default_rng(3).zipf(1.5, 203).clip(1, 50)
    targets = (np.arange(50)[None] < lengths[:, None]).astype(np.int32) * 7  # PAD after
    inputs = np.arange(203)[:, None] * np.ones((1, 50), np.int32)  # row ids
    bound = retrieval.target_bound(lengths, 20)
    assert lengths.sum() / 10 <= bound < np.sort(lengths)[-20:].sum()
    batches = retrieval.make_batch_fn("sequence", lengths, 20)
    for seed in range(5):
        input_SxBxL, (target_SxBxL, where_SxP) = batches(inputs, targets, jax.random.key(seed))
        rows = np.asarray(input_SxBxL[:, :, 0])
        assert rows.shape == (10, 20) and len(np.unique(rows)) == 200
        real = np.asarray(target_SxBxL != 0).reshape(10, -1)
        assert (real.sum(1) <= bound).all()
        picked = np.take_along_axis(real, np.asarray(where_SxP), 1)
        np.testing.assert_array_equal(picked.sum(1), real.sum(1))  # every real position


def test_popularity_known_answer():
    d = from_sequences(HAND_MADE)
    r = retrieval.popularity(retrieval.RetrievalConfig(data="hand", model="popularity"), d)
    # valid, seen removed: targets 8, 7 rank first, 9 second (behind 7); over all items 8, 7, 9
    # rank 2, 3, 4 behind 5, 6 (, 8 (, 7)).
    assert r["valid"]["NDCG@5"] == pytest.approx((2 + 1 / np.log2(3)) / 3)
    assert r["valid"]["all_NDCG@5"] == pytest.approx((1 / 2 + 1 / np.log2(5) + 1 / np.log2(6)) / 3)
    assert r["test"]["NDCG@5"] == pytest.approx(1.0)
    assert r["valid"]["HR@5"] == r["test"]["HR@5"] == 1.0


def planted(users=400, items=30, length=8, seed=0):
    """Every next item is the previous one + 1 (mod items)."""
    starts = np.random.default_rng(seed).integers(0, items, users)
    return from_sequences([[(s + i) % items for i in range(length)] for s in starts], max_len=5)


@pytest.mark.slow  # 10 s
def test_gru4rec_learns_a_planted_next_item_rule(tmp_path):
    cfg = retrieval.RetrievalConfig(data="planted", model="gru4rec", max_epochs=30, patience=30)
    r = retrieval.run(cfg, planted(), tmp_path, log=lambda _: None)
    assert r["test"]["HR@5"] == 1.0 and r["test"]["NDCG@5"] > 0.95  # ~ HR@1 = 1
    assert r["test"]["NDCG@5"] > r["test"]["all_NDCG@5"] - 1e-9  # excluding seen never hurts


@pytest.mark.slow  # 10 s on the shared 2-core CPU, most of it compiling
def test_sasrec_learns_a_planted_next_item_rule(tmp_path):
    cfg = retrieval.RetrievalConfig(data="planted", model="sasrec", max_epochs=4)
    r = retrieval.run(cfg, planted(users=1280), tmp_path, log=lambda _: None)
    assert r["test"]["HR@5"] == 1.0 and r["test"]["NDCG@5"] > 0.95  # ~ HR@1 = 1


@pytest.mark.slow
def test_youtube_dnn_retrieves_the_users_cluster(tmp_path):
    """Each user buys 6 of the 8 items of one cluster: with the history excluded, the cluster's
    2 unseen items must rank in the top 5 (the mean of the history names the cluster)."""
    rng = np.random.default_rng(0)
    seqs = [list(8 * c + rng.permutation(8)[:6]) for c in rng.integers(0, 6, 600)]
    cfg = retrieval.RetrievalConfig(data="clusters", model="youtube_dnn", max_epochs=10)
    r = retrieval.run(cfg, from_sequences(seqs), tmp_path, log=lambda _: None)
    assert r["test"]["HR@5"] == 1.0 and r["test"]["all_HR@5"] < 0.9


class Killed(Exception):
    pass


def kill_after_epoch(n: int):
    """A log that raises once epoch n is logged (after its checkpoint): a kill at that point."""

    def log(line: str):
        if f" epoch {n}:" in line:
            raise Killed(line)

    return log


@pytest.mark.parametrize("model", ["gru4rec", "sasrec"])  # prefix and sequence rows
def test_killed_run_resumes_to_the_same_result(tmp_path, model):
    data = planted(users=300)
    cfg = retrieval.RetrievalConfig(data="p", model=model, max_epochs=3)
    full = retrieval.run(cfg, data, tmp_path / "a", log=lambda _: None)
    with pytest.raises(Killed):
        retrieval.run(cfg, data, tmp_path / "b", log=kill_after_epoch(2))
    lines = []
    again = retrieval.run(cfg, data, tmp_path / "b", log=lines.append)
    assert lines[0] == f"{cfg.run_id}: resumed after epoch 2"
    assert again["test"] == full["test"] and again["valid"] == full["valid"]
    rows = (tmp_path / "b" / cfg.run_id / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in rows] == [1, 2, 3]


def test_a_checkpoint_of_the_old_counter_format_resumes_to_the_same_result(tmp_path):
    """Checkpoints written before retrieval ran on Protocol hold five counters and no lr."""
    data = planted(users=300)
    cfg = retrieval.RetrievalConfig(data="p", model="gru4rec", max_epochs=3)
    full = retrieval.run(cfg, data, tmp_path / "a", log=lambda _: None)
    with pytest.raises(Killed):
        retrieval.run(cfg, data, tmp_path / "b", log=kill_after_epoch(2))
    rd = RunDir(tmp_path / "b" / cfg.run_id)
    tree, meta = rd.restore_latest(None)
    shutil.rmtree(rd.ckpt)
    old = ("epoch", "best_epoch", "best_valid", "bad_epochs", "train_s")
    RunDir(rd.root).save(2, tree, {k: meta[k] for k in old})  # a new manager: no steps known
    lines = []
    again = retrieval.run(cfg, data, tmp_path / "b", log=lines.append)
    assert lines[0] == f"{cfg.run_id}: resumed after epoch 2"
    assert again["test"] == full["test"] and again["valid"] == full["valid"]
    assert again["best_epoch"] == full["best_epoch"] and again["epochs"] == 3


def test_old_counters_keep_the_best_value_and_the_stop():
    rule = StopRule(monitor=retrieval.MONITOR, higher_is_better=True, patience=2, max_epochs=9)
    old = dict(epoch=5, best_epoch=3, best_valid={retrieval.MONITOR: 0.25}, bad_epochs=2,
               train_s=1.0)  # fmt: skip
    prot = retrieval.resumed_protocol(old, 1e-3, rule)
    assert (prot.best, prot.lr, prot.status) == (0.25, 1e-3, "stopped")
    at_cap = retrieval.resumed_protocol({**old, "epoch": 9, "bad_epochs": 0}, 1e-3, rule)
    assert at_cap.status == "max_epochs"
    running = retrieval.resumed_protocol({**old, "bad_epochs": 1}, 1e-3, rule)
    assert running.status == "running" and not running.end_epoch({retrieval.MONITOR: 0.2}, rule)
    assert running.status == "stopped"  # 0.2 is not above the restored best 0.25


def test_a_run_folder_refuses_other_settings(tmp_path):
    """Run folders are named by data, model and seed: a finished or half-trained run asked for
    with other settings is an error naming them, never its old result or a mixed resume."""
    data = planted(users=100)
    cfg = retrieval.RetrievalConfig(data="p", model="gru4rec", max_epochs=2)
    with pytest.raises(Killed):
        retrieval.run(cfg, data, tmp_path, log=kill_after_epoch(1))
    longer = dataclasses.replace(cfg, max_epochs=4)
    with pytest.raises(ValueError, match="max_epochs: 2 there, 4 now.*another --workdir"):
        retrieval.run(longer, data, tmp_path, log=lambda _: None)
    done = retrieval.run(cfg, data, tmp_path, log=lambda _: None)
    assert done["epochs"] == 2
    with pytest.raises(ValueError, match="data_info: .*'users': 100.* there, .*'users': 120"):
        retrieval.run(cfg, planted(users=120), tmp_path, log=lambda _: None)


def test_a_diverging_run_is_recorded(tmp_path, monkeypatch):
    bad = dataclasses.replace(retrieval_models.SETTINGS["gru4rec"], lr=1e38)
    monkeypatch.setitem(retrieval_models.SETTINGS, "gru4rec", bad)
    cfg = retrieval.RetrievalConfig(data="p", model="gru4rec", max_epochs=3)
    r = retrieval.run(cfg, planted(users=100), tmp_path, log=lambda _: None)
    assert r["status"] == "diverged" and r["diverged_epoch"] == r["epochs"] + 1 <= 3
    assert (tmp_path / cfg.run_id / "result.json").exists()


def test_cli_names_the_choices(tmp_path):
    (tmp_path / "Beauty.txt").write_text("u 1 2 3\n")
    base = ["retrieval", "--manual-dir", str(tmp_path), "--workdir", str(tmp_path / "runs")]
    with pytest.raises(SystemExit, match=r"--model \['bert'\]: choose from \['popularity'"):
        cli.main([*base, "--data", "Beauty", "--model", "bert"])
    with pytest.raises(
        SystemExit, match=r"--data Yelp: .*Yelp.txt does not exist.*holds \['Beauty'\]"
    ):
        cli.main([*base, "--data", "Yelp", "--model", "popularity"])
    with pytest.raises(SystemExit, match=r"--seeds '0,x'"):
        cli.main([*base, "--data", "Beauty", "--model", "popularity", "--seeds", "0,x"])
    with pytest.raises(SystemExit, match="--manual-dir .*: not a folder"):
        cli.main(
            [
                *base[:1],
                "--manual-dir",
                str(tmp_path / "no"),
                "--data",
                "B",
                "--model",
                "popularity",
            ]
        )


def test_iclrec_beauty_split(shared_data):
    d = load(shared_data / "sequence_samples" / "amazon_seq_iclrec" / "Beauty.txt")
    assert (d.info["users"], d.info["items"], d.info["interactions"]) == (22363, 12101, 198502)
    assert len(d.train.target_N) == 198502 - 3 * 22363  # every prefix of items[:-2]
    assert d.num_ids == 12101 + 2 and d.counts_V[2] == d.counts_V.max()
    # the whole history is removed from the ranking; no Beauty target repeats its history
    assert not (d.test.seen_NxM == d.test.target_N[:, None]).any()


def test_cli_writes_run_folders_and_prints_the_table(tmp_path, capsys):
    lines = [" ".join(map(str, [u, *s])) for u, s in enumerate(HAND_MADE)]
    (tmp_path / "Beauty.txt").write_text("\n".join(lines) + "\n")
    argv = ["retrieval", "--manual-dir", str(tmp_path), "--workdir", str(tmp_path / "runs")]
    assert cli.main([*argv, "--data", "Beauty", "--model", "popularity", "--seeds", "0,1"]) == 0
    assert (tmp_path / "runs" / "Beauty-popularity-seed1" / "result.json").exists()
    out = capsys.readouterr().out
    assert "Beauty popularity   valid HR@5 1.0000±0.0000" in out
