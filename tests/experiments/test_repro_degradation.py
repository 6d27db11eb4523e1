"""Degradation repro, its figures and trained-tower statistics on one tiny sweep per setting
(2 families x depths 1, 2: the --tiny data and budget, fewer runs)."""

import csv
import json
import shutil

import jax
import numpy as np
import pytest

import ctr.datasets
import resnets.stack
from ctr.datasets.device import num_steps
from experiments import train
from experiments.protocol import init_sample, model_columns
from experiments.repro import degradation, towers
from experiments.repro import degradation_figures as figures
from experiments.rundir import RunDir
from resnets import connection_summary

FAMILIES = ("none", "identity")
DEPTHS = [1, 2]


def families(setting: str) -> list[str]:
    """FAMILIES as the setting trains them (zero_gamma has no plain tower)."""
    return [f for f in FAMILIES if f in degradation.default_families(setting)]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """Both settings trained into one workdir (run ids differ; summaries are per setting)."""
    root = tmp_path_factory.mktemp("degradation")
    kw = dict(tiny=True, depths=DEPTHS, data_dir=root / "data")
    blobs = {s: degradation.run(root / "runs", setting=s, progress=False, families=families(s),
                                **kw) for s in degradation.SETTINGS}  # fmt: skip
    cfgs = {s: degradation.configs(setting=s, tiny=True, depths=DEPTHS, families=families(s))
            for s in degradation.SETTINGS}  # fmt: skip
    return root, blobs, cfgs


def test_configs_switch_off_everything_but_the_optimiser():
    for setting, tower in degradation.SETTINGS.items():
        cfgs = degradation.configs(setting=setting, tiny=True)
        assert {(c.connection.name, len(c.model.options["hidden"])) for c in cfgs} == {
            (f, d) for f in degradation.default_families(setting) for d in degradation.TINY_DEPTHS
        }
        for c in cfgs:
            t = c.train
            assert c.model.options == {"hidden": c.model.options["hidden"], **tower}
            assert c.model.options["dropout"] == 0.0
            assert t.embedding_l2 == t.net_l2 == 0.0
            assert t.lr_decay == 1.0 and t.patience >= t.max_epochs  # fixed budget
            assert t.grad_norm_layers == degradation.GRAD_NORM_LAYERS
    he = degradation.SETTINGS["he2016"]
    assert he["batch_norm"] and he["activation_after_merge"]
    assert not degradation.SETTINGS["no_bn"]["batch_norm"]
    assert degradation.SETTINGS["zero_gamma"] == {**he, "zero_init_residual": True}
    assert degradation.default_families("zero_gamma") == degradation.FAMILIES[1:]  # no "none"
    with pytest.raises(ValueError, match="needs a residual family"):
        degradation.configs(setting="zero_gamma", families=("none", "identity"))
    assert {20, 56} <= set(degradation.DEPTHS)  # He et al.'s Fig. 1 pair
    with pytest.raises(ValueError, match="tiny"):
        degradation.configs(tiny=True, data="frappe")
    with pytest.raises(ValueError, match="setting must be one of"):
        degradation.configs(setting="he2015")


@pytest.mark.parametrize("setting", list(degradation.SETTINGS))
def test_run_writes_numbers_that_match_the_run_folders(sweep, setting):
    root, blobs, cfgs = sweep
    out, blob, cfgs = root / "runs", blobs[setting], cfgs[setting]
    stem = degradation.prefix(setting)
    for name in [*figures.FIGURES, "epochs", "layers", "depth"]:
        suffix = "png" if name in figures.FIGURES else "csv"
        assert (out / f"{stem}_{name}.{suffix}").stat().st_size > 0
    assert degradation.load(out, setting) == json.loads(json.dumps(blob))  # what load() reads
    assert {(r["family"], r["depth"]) for r in blob["depth"]} == {
        (f, d) for f in families(setting) for d in DEPTHS
    }
    with (out / f"{stem}_depth.csv").open() as f:
        table = {(r["family"], int(r["depth"])): r for r in csv.DictReader(f)}
    t = cfgs[0].train
    data = ctr.datasets.load("synthetic", data_dir=root / "data", **degradation.TINY_DATA)
    train = data[1]["train"]
    assert len(train["label"]) <= degradation.TRAIN_ROWS  # final_train_loss sees every row
    steps = num_steps(len(train["label"]), t.batch_size)
    for c in cfgs:
        key = (c.connection.name, len(c.model.options["hidden"]))
        metrics = RunDir(out / c.run_id).read_metrics()
        assert [m["epoch"] for m in metrics] == list(range(1, t.max_epochs + 1))  # no early stop
        row = table[key]
        assert float(row["train_loss"]) == pytest.approx(metrics[-1]["train_loss"], rel=1e-6)
        # the last state's loss, in eval mode: one batch of every train row, BCE by hand
        run = towers.load_run(out / c.run_id, which="state", data=data)
        p = 1 / (1 + np.exp(-np.asarray(run.model.apply(run.variables, train, train=False))))
        y = train["label"]
        bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        assert float(row["final_train_loss"]) == pytest.approx(bce, rel=1e-4)
        # per-layer gradient norms: one per block, at init (epoch 1's first step) and trained
        for m in metrics:
            assert len(m["layer_grad_norm"]) == len(m["layer_grad_norm_first"]) == key[1]
        layers = [r for r in blob["layers"] if (r["family"], r["depth"]) == key]
        assert [r["grad_norm_init"] for r in layers] == metrics[0]["layer_grad_norm_first"]
        assert [r["grad_norm_trained"] for r in layers] == metrics[-1]["layer_grad_norm"]
        epochs = [r for r in blob["epochs"] if (r["family"], r["depth"]) == key]
        assert [r["step"] for r in epochs] == [e * steps for e in range(1, t.max_epochs + 1)]
    assert blob["settings"]["steps"] == t.max_epochs * steps
    assert blob["settings"]["setting"] == setting
    starts = {(r["family"], r["depth"]): r["init_logit_std"] for r in blob["depth"]}
    assert all(v > 0 for v in starts.values())
    if setting == "zero_gamma":  # every depth starts as Dense(ReLU(embedding)): the same logits
        assert starts[("identity", 1)] == pytest.approx(starts[("identity", 2)], rel=1e-6)
    else:
        assert starts[("identity", 1)] != pytest.approx(starts[("identity", 2)], rel=1e-3)


def test_load_names_the_missing_summary(tmp_path):
    with pytest.raises(FileNotFoundError, match="resctr repro degradation"):
        degradation.load(tmp_path, "no_bn")


def _lines(ax) -> dict[str, tuple[list, list]]:
    return {ln.get_label(): (list(ln.get_xdata()), list(ln.get_ydata())) for ln in ax.lines}


def _mean_by(rows, x, y):
    xs = sorted({r[x] for r in rows})
    return xs, [np.mean([r[y] for r in rows if r[x] == v]) for v in xs]


@pytest.mark.parametrize("setting", list(degradation.SETTINGS))
def test_curves_plot_the_collected_epoch_rows(sweep, setting):
    blob = degradation.load(sweep[0] / "runs", setting)
    fig = figures.curves(blob)
    shallow, deep = figures.depth_pair(blob["settings"]["depths"])  # every family: both
    assert (shallow, deep) == (1, 2)
    axes = np.array(fig.axes).reshape(len(families(setting)), 2)
    for row, family in enumerate(families(setting)):
        train_lines, valid_lines = _lines(axes[row, 0]), _lines(axes[row, 1])
        for d, width in ((shallow, 1.0), (deep, 2.6)):
            rows = [r for r in blob["epochs"] if r["family"] == family and r["depth"] == d]
            steps, train = _mean_by(rows, "step", "train_loss")
            half = steps[0] / 2  # an epoch's mean loss sits at the middle of its epoch
            label = f"{family}, depth {d}"
            np.testing.assert_allclose(train_lines[label][0], np.array(steps) - half)
            np.testing.assert_allclose(train_lines[label][1], train)
            np.testing.assert_allclose(valid_lines[label], _mean_by(rows, "step", "valid_logloss"))
            widths = [ln.get_linewidth() for ln in axes[row, 0].lines if ln.get_label() == label]
            assert widths == [width]  # shallow thin, deep thick
        bayes = blob["settings"]["bayes_optimal"]
        np.testing.assert_allclose(train_lines["Bayes-optimal"][1], [bayes["train"]["logloss"]] * 2)


@pytest.mark.parametrize("setting", list(degradation.SETTINGS))
def test_depth_plots_the_collected_depth_rows(sweep, setting):
    blob = degradation.load(sweep[0] / "runs", setting)
    fig = figures.depth(blob)
    for ax, metric in zip(fig.axes, ("train_loss", "final_train_loss", "best_valid_auc"),
                          strict=True):  # fmt: skip
        bars = {c.get_label(): c for c in ax.containers}  # errorbar: (line, caps, bars)
        for family in families(setting):
            rows = [r for r in blob["depth"] if r["family"] == family]
            line = bars[family].lines[0]
            assert list(line.get_xdata()) == [r["depth"] for r in rows] == DEPTHS
            np.testing.assert_allclose(
                np.asarray(line.get_ydata(), float), [r[metric] for r in rows]
            )


@pytest.mark.parametrize("setting", list(degradation.SETTINGS))
def test_grad_norms_plot_geometric_seed_means_of_the_layer_rows(sweep, setting):
    blob = degradation.load(sweep[0] / "runs", setting)
    fig = figures.grad_norms(blob)
    axes = np.array(fig.axes).reshape(2, 2)
    for row, d in enumerate(figures.depth_pair(blob["settings"]["depths"])):
        for col, (key, _) in enumerate(figures.WHEN):
            lines = _lines(axes[row, col])
            assert axes[row, col].get_yscale() == "log"
            for family in families(setting):
                rows = [r for r in blob["layers"] if r["family"] == family and r["depth"] == d]
                layers = sorted({r["layer"] for r in rows})
                assert lines[family][0] == layers == list(range(1, d + 1))
                geo = [np.exp(np.mean([np.log(r[key]) for r in rows if r["layer"] == k]))
                       for k in layers]  # fmt: skip
                np.testing.assert_allclose(lines[family][1], geo, rtol=1e-12)
    with pytest.raises(ValueError, match="grad_norm_layers off"):
        figures.grad_norms({**blob, "layers": []})


def test_load_run_restores_the_best_state_the_result_reports(sweep):
    root, _, cfgs = sweep
    run_dir = root / "runs" / cfgs["no_bn"][-1].run_id
    run = towers.load_run(run_dir, data_dir=root / "data")
    assert run.cfg == cfgs["no_bn"][-1]
    reported = json.loads((run_dir / "result.json").read_text())["connection"]
    restored = connection_summary(run.variables["params"])
    assert reported.keys() == {f"conn/{k}" for k in restored}
    for k, v in restored.items():
        np.testing.assert_array_equal(np.asarray(reported[f"conn/{k}"]), v)
    batch = {c: v[:64] for c, v in run.splits["valid"].items()}
    assert run.model.apply(run.variables, batch, train=False).shape == (64,)
    with pytest.raises(ValueError, match="which"):
        towers.load_run(run_dir, which="last", data_dir=root / "data")


def test_layer_stats_match_a_brute_force_count(sweep):
    """On the no_bn towers (activation inside the branch, as towers.py's stats assume)."""
    root, _, cfgs = sweep
    by = {(c.connection.name, len(c.model.options["hidden"])): c for c in cfgs["no_bn"]}
    for family in FAMILIES:
        run_dir = root / "runs" / by[(family, 2)].run_id
        stats = towers.run_layer_stats(run_dir, rows=500, data_dir=root / "data")
        assert [s["layer"] for s in stats] == [0, 1] and {s["family"] for s in stats} == {family}
        run = towers.load_run(run_dir, data_dir=root / "data")
        batch = {c: v[:500] for c, v in run.splits["valid"].items()}
        acts = list(towers.block_activations(run.model, run.variables, batch).values())
        for s, a in zip(stats, acts, strict=True):
            assert s["dead_fraction"] == float((a <= 0).all(axis=0).mean())
            assert s["block_effective_rank"] == pytest.approx(towers.effective_rank(a))
        same = [s["state_effective_rank"] == s["block_effective_rank"] for s in stats]
        # plain: the state *is* the block output; identity: h = x + f(x) differs from f(x)
        assert all(same) if family == "none" else not any(same)


def test_he2016_refuses_a_fused_family_before_training():
    with pytest.raises(ValueError, match=r"\['dag'\] rewire the tower.*setting 'no_bn'"):
        degradation.configs(families=("none", "dag"))
    assert degradation.configs(setting="no_bn", tiny=True, depths=[1], families=("dag",))


def test_collect_only_summarizes_the_finished_runs_and_names_the_missing(sweep, tmp_path):
    root, blobs, _ = sweep
    out = tmp_path / "runs"
    shutil.copytree(root / "runs", out)  # the fixture's summaries stay as they are
    kw = dict(setting="he2016", tiny=True, families=FAMILIES, data_dir=root / "data")
    blob = degradation.run(out, depths=[*DEPTHS, 3], collect_only=True, **kw)
    assert blob["depth"] == json.loads(json.dumps(blobs["he2016"]["depth"]))
    assert blob["settings"]["missing"] == [dict(family=f, depth=3, seed=0) for f in FAMILIES]
    runs = [p for p in out.iterdir() if p.name.startswith("dnn-")]
    assert len(runs) == sum(len(families(s)) for s in degradation.SETTINGS) * len(DEPTHS)
    with pytest.raises(FileNotFoundError, match="no finished degradation run"):
        degradation.run(tmp_path / "empty", depths=[3], collect_only=True, **kw)


def test_a_partial_call_keeps_the_earlier_cells_of_the_grid_in_the_summary(sweep, tmp_path):
    root, blobs, _ = sweep
    out = tmp_path / "runs"
    shutil.copytree(root / "runs", out)  # nothing retrains: every run below has finished
    blob = degradation.run(out, setting="he2016", tiny=True, depths=[1], families=("identity",),
                           data_dir=root / "data", progress=False)  # fmt: skip
    # depth 1 was asked for; depth 2 is in the tiny grid (2, 8, 32) and finished earlier
    cells = [(r["family"], r["depth"]) for r in blob["depth"]]
    assert cells == [("identity", 1), ("identity", 2), ("none", 2)]
    assert blob["settings"]["families"] == ["identity", "none"]
    assert blob["settings"]["missing"] == []
    saved = {(r["family"], int(r["depth"])) for r in csv.DictReader(
        (out / "degradation_he2016_depth.csv").open())}  # fmt: skip
    assert saved == set(cells)


def test_depth_pairs_take_he_et_al_s_20_and_each_family_s_deepest():
    assert figures.depth_pair({2, 4, 8, 16, 20, 32, 56}) == (20, 56)
    assert figures.depth_pair({2, 20, 32}) == (20, 32)  # a partial grid: the deepest that ran
    assert figures.depth_pair({2, 8, 32}) == (2, 32) and figures.depth_pair({20}) == (20, 20)
    rows = [dict(family="identity", depth=d) for d in (2, 20, 32)]
    rows += [dict(family="none", depth=d) for d in (2, 20, 56)] + [dict(family="new", depth=3)]
    assert figures.family_pairs(rows) == {"none": (20, 56), "identity": (20, 32), "new": (3, 3)}


@pytest.mark.slow  # ~25 s: six compilations of the vmapped train step
@pytest.mark.skipif(jax.default_backend() != "cpu", reason="XLA's CPU fusion pass")
def test_deep_residual_step_compiles_linearly_in_depth(monkeypatch):
    """The identity tower with BN and the ReLU after the merge: each extra layer adds about as
    much compiled code at depth 32 as at depth 8 (resnets.stack.stored_on_cpu). Without the
    stored states XLA's CPU fusion recomputes the stream in every consumer and the increments
    grow with depth: the check fails then."""

    def lines(depth: int) -> int:
        cfg = degradation.configs(tiny=True, depths=[depth], families=["identity"])[0]
        spec, splits = ctr.datasets.load(cfg.data.name, **cfg.data.options)
        model, tx = train.build_model(cfg, spec), train.make_optimizer(cfg.train, spec)
        sample = init_sample(spec, splits["train"])
        state = train.make_init_fn(model, tx, sample, cfg.model.init)(jax.random.PRNGKey(0))
        consts = train.constants(model, spec, splits["train"], sample)
        step = train.make_train_step(model, tx, cfg.train, consts)
        batch = {c: splits["train"][c][:64] for c in model_columns(spec)} | {"mask": np.ones(64)}
        stacked = [jax.tree.map(lambda x: x[None], t) for t in (state, batch)]
        return jax.jit(jax.vmap(step)).lower(*stacked).compile().as_text().count("\n")

    def growth() -> float:
        n4, n16, n32 = (lines(d) for d in (4, 16, 32))
        return ((n32 - n16) / 16) / ((n16 - n4) / 12)

    assert growth() < 1.1
    monkeypatch.setattr(resnets.stack, "stored_on_cpu", lambda: None)
    assert growth() > 1.3  # the duplicated stream: the check can fail
