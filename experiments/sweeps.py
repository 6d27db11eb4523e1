"""Sweeps: functions returning list[RunConfig], each docstring states the hypothesis it tests.

`SWEEPS` is the literal registry `resctr run --sweep NAME` reads. Family options that a sweep
needs (dense(project=True) where the tower input and hidden widths differ, dag's neuron group
size) are set here, in one place per sweep, so every result names its exact settings.

A sweep file (`resctr run --config FILE.py`, experiments/sweep_files.py) is the same form outside
the package: it defines `sweep()` and may use the public helpers here, `grid` (models x families
x seeds with explicit settings), `bars_grid` / `bars_run` (each model with its BARS settings,
trained as FuxiCTR trains) and the BARS defaults BARS_SEEDS, BARS_TRAIN, BARS_TOWER,
BARS_FRAPPE, FUXICTR_TRAIN, FUXICTR_INIT. The sweep name is filled in by the loader.
"""

from __future__ import annotations

import dataclasses

import resnets
from ctr.models import compatible
from experiments.configs import ConnectionConfig, DataConfig, ModelConfig, RunConfig, TrainConfig
from resnets.norm import POSITIONS

BARS_SEEDS = (2021, 190034, 992817)  # the first three of BARS's five DeepFM/Frappe_x1 seeds


def family_options(family: str, *, widths_differ: bool, dag_group: int) -> dict:
    """The options a family needs in an MLP tower (other families run with their defaults)."""
    return {
        "dense": {"project": True} if widths_differ else {},
        "dag": {"group": dag_group},
        "scaled": {"w": "scalar"},  # learn both beta and w, so the merge weights are visible
    }.get(family, {})


def grid(models, families, seeds, *, data, train=None, model_options=None,
         embedding_dim=10, widths_differ=True, dag_group=40, sweep="",
         init="flax") -> list[RunConfig]:  # fmt: skip
    """models x families x seeds. `model_options`: {model: options}; `widths_differ`: the tower's
    input and hidden widths differ (dense then projects); `dag_group`: dag's neuron group;
    `train`: default TrainConfig() (the BARS protocol's lr, batch and early stopping)."""
    train = train or TrainConfig()
    return [
        RunConfig(
            data=data,
            model=ModelConfig(
                name=m,
                options=dict((model_options or {}).get(m, {})),
                embedding_dim=embedding_dim,
                init=init,
            ),
            connection=ConnectionConfig(
                name=f, options=family_options(f, widths_differ=widths_differ, dag_group=dag_group)
            ),
            train=train,
            seed=s,
            sweep=sweep,
        )
        for m in models
        for f in families
        for s in seeds
    ]


def smoke() -> list[RunConfig]:
    """Plumbing check in seconds: every stage of the runner works end to end (no hypothesis)."""
    data = DataConfig(name="synthetic", options={"rows": 2000, "num_fields": 4, "vocab": 10})
    train = TrainConfig(batch_size=256, max_epochs=2, lr=3e-3)
    kw = dict(data=data, train=train, embedding_dim=4, widths_differ=False, dag_group=4)
    tower = {"dnn": {"hidden": [16, 16]}}
    return grid(["lr", "fm"], ["none"], [0], model_options={}, **kw, sweep="smoke") + grid(
        ["dnn"], ["none", "identity"], [0], model_options=tower, **kw, sweep="smoke"
    )


def demo() -> list[RunConfig]:
    """On planted-interaction data every family should train a small tower close to the
    Bayes-optimal AUC, and DNN/DeepFM should beat LR (no interactions) and FM (pairs only)."""
    # 100k rows: enough for DeepFM to get within 0.01 AUC of the Bayes-optimal AUC (measured
    # 0.007 valid / 0.008 test); at 20k rows the planted pairs and triples are not learnable.
    data = DataConfig(name="synthetic", options={"rows": 100_000})
    train = TrainConfig(batch_size=512, max_epochs=8, lr=3e-3)
    tower = {"hidden": [64, 64, 64]}  # = 8 fields x 8 dims: every family runs unprojected
    kw = dict(data=data, train=train, embedding_dim=8, widths_differ=False, dag_group=16)
    seeds = [0, 1]
    return grid(["lr", "fm"], ["none"], seeds, model_options={}, **kw, sweep="demo") + grid(
        ["dnn", "deepfm"],
        list(resnets.CONNECTIONS),
        seeds,
        model_options={"dnn": tower, "deepfm": tower},
        **kw,
        sweep="demo",
    )


# FuxiCTR 2.3.9's BaseModel behaviour that BARS's configs leave at its defaults, so that a BARS
# sweep trains as the peer does (docs/peer_parity.md; README "Training like the peer"): the
# gradient norm clipped at 10 (BaseModel.fit), the lr decay floored at 1e-6 (lr_decay), an
# epoch improving only by more than 1e-6 (checkpoint_and_earlystop), net_regularizer over every
# non-embedding parameter, and Linear weights drawn xavier-normal (reset_parameters).
FUXICTR_TRAIN = dict(grad_clip_norm=10.0, min_lr=1e-6, min_delta=1e-6, net_l2_params="all")
FUXICTR_INIT = "fuxictr"
BARS_TRAIN = TrainConfig(
    lr=1e-3, batch_size=4096, max_epochs=100, patience=2, embedding_l2=0.05, **FUXICTR_TRAIN
)
BARS_TOWER = {"hidden": [400, 400, 400], "dropout": 0.2, "batch_norm": True}  # DNN/DeepFM Frappe


def families_frappe() -> list[RunConfig]:
    """Under the BARS protocol on Frappe_x1, does any residual family beat the plain published
    DNN/DeepFM towers (valid AUC ~0.984), or are 3-layer CTR towers too shallow to benefit?
    Trained as FuxiCTR trains (FUXICTR_TRAIN, FUXICTR_INIT)."""
    # the 2015-20 families (dag, fused, cannot hold the towers' BatchNorm); modern_frappe asks
    # the same of the 2024-26 ones
    families = ["none", "identity", "concat", "scaled", "rezero", "gated", "dense"]
    return grid(
        ["dnn", "deepfm"],
        families,
        BARS_SEEDS,
        data=DataConfig(name="frappe"),
        train=BARS_TRAIN,
        model_options={"dnn": BARS_TOWER, "deepfm": BARS_TOWER},
        embedding_dim=10,
        widths_differ=True,
        dag_group=40,
        sweep="families_frappe",
        init=FUXICTR_INIT,
    )


def depth_frappe() -> list[RunConfig]:
    """Degradation (He et al. 2016, Fig. 1) in a CTR tower: a plain DNN gets worse with depth
    (1 -> 32 layers of 400), identity/scaled/dense shortcuts keep deep towers trainable.
    Trained as FuxiCTR trains (FUXICTR_TRAIN, FUXICTR_INIT): the clip at 10 bounds every step."""
    towers = [
        {"hidden": [400] * d, "dropout": 0.2, "batch_norm": True} for d in (1, 2, 4, 8, 16, 32)
    ]
    return _dnn_towers_frappe(towers, sweep="depth_frappe")


def norm_frappe() -> list[RunConfig]:
    """Normalization as an axis (issue 10), 8 x 400 DNN tower on Frappe_x1 (BARS training,
    dropout 0.2, no in-block BN). Hypothesis: normalization is what keeps the deep plain tower
    trainable and its gain shrinks once a shortcut is there; BN beats LN on CTR towers; post-norm
    suits plain/dense stacks, pre-norm (a clean identity path) suits identity/scaled. The
    baseline is each family's unnormalized tower (norm "none", placement moot, so run once).
    The BARS in-block BN tower at depth 8 is depth_frappe's row. Trained as FuxiCTR trains
    (FUXICTR_TRAIN, FUXICTR_INIT)."""
    settings = [("none", "pre")] + [(n, p) for n in ("bn", "ln") for p in POSITIONS]
    towers = [
        {"hidden": [400] * 8, "dropout": 0.2, "norm": norm, "norm_position": position}
        for norm, position in settings
    ]
    return _dnn_towers_frappe(towers, sweep="norm_frappe")


def _dnn_towers_frappe(towers: list[dict], *, sweep: str) -> list[RunConfig]:
    """DNN with each tower in `towers` x none/identity/scaled/dense x BARS seeds on Frappe_x1."""
    return [
        run
        for tower in towers
        for run in grid(
            ["dnn"],
            ["none", "identity", "scaled", "dense"],
            BARS_SEEDS,
            data=DataConfig(name="frappe"),
            train=BARS_TRAIN,
            model_options={"dnn": tower},
            embedding_dim=10,
            widths_differ=True,
            dag_group=40,
            sweep=sweep,
            init=FUXICTR_INIT,
        )
    ]


# -- issue 6: every feature-interaction model on Frappe_x1 under its BARS settings -----------

# Per-model BARS hyper-parameters on Frappe_x1: ../shared/data/REFERENCE_RESULTS.md
# ("Frappe_x1" table: emb_reg, net_reg (0 for all), dropout, BN, architecture), copied from
# reczoo/BARS ranking/ctr/<Model>/<Model>_frappe_x1/README.md; xDeepFM's cin_layer_units [64],
# DCN's crossing_layers 3 and DCNv2's parallel full-rank structure are read from those READMEs'
# logged configs. Models without a BARS Frappe row (opnn, neuralcf, deep_crossing) take the DNN
# row's regularizer (0.05) and their own published architecture (model defaults); MLR, a
# softmax-gated mixture of LRs with no embeddings, takes LR's (1e-5): with 0.05 on its per-id
# weights it stayed at valid AUC 0.55 (runs/bars_frappe, 2026-11-26).
# Keys: embedding_l2 (the BARS embedding_regularizer / LR-FM `regularizer`), patience and
# max_epochs where BARS differs from (2, 100), and the model options.
_TOWER = (400, 400, 400)
BARS_FRAPPE = {
    "lr": dict(embedding_l2=1e-5),
    "fm": dict(embedding_l2=5e-6),
    "ffm": dict(embedding_l2=1e-6),
    "fwfm": dict(embedding_l2=5e-6),
    "afm": dict(embedding_l2=1e-5, options=dict(attention_dim=128, attention_dropout=[0.1, 0.1])),
    "nfm": dict(
        embedding_l2=1e-4,
        max_epochs=200,
        options=dict(hidden=_TOWER, dropout=0.4, batch_norm=False),
    ),
    "dnn": dict(embedding_l2=0.05, options=dict(hidden=_TOWER, dropout=0.2, batch_norm=True)),
    "ipnn": dict(
        embedding_l2=0.05, patience=3, options=dict(hidden=_TOWER, dropout=0.3, batch_norm=False)
    ),
    "opnn": dict(
        embedding_l2=0.05, patience=3, options=dict(hidden=_TOWER, dropout=0.3, batch_norm=False)
    ),
    "wide_deep": dict(embedding_l2=0.1, options=dict(hidden=_TOWER, dropout=0.6, batch_norm=True)),
    "deepfm": dict(embedding_l2=0.05, options=dict(hidden=_TOWER, dropout=0.2, batch_norm=True)),
    "dcn": dict(
        embedding_l2=0.05,
        options=dict(num_cross_layers=3, hidden=_TOWER, dropout=0.2, batch_norm=True),
    ),
    "dcnv2": dict(
        embedding_l2=0.05,
        options=dict(
            num_cross_layers=4,
            structure="parallel",
            low_rank=None,
            hidden=_TOWER,
            dropout=0.4,
            batch_norm=True,
        ),  # fmt: skip
    ),
    "xdeepfm": dict(
        embedding_l2=0.1,
        options=dict(cin_units=(64,), hidden=_TOWER, dropout=0.2, batch_norm=True),
    ),
    "autoint": dict(
        embedding_l2=0.05,
        options=dict(
            attention_layers=6,
            num_heads=4,
            attention_dim=128,
            hidden=(),
            dropout=0.0,
            batch_norm=False,
        ),
    ),  # fmt: skip
    "autoint_plus": dict(
        embedding_l2=0.1,
        options=dict(
            attention_layers=5,
            num_heads=4,
            attention_dim=128,
            hidden=_TOWER,
            dropout=0.1,
            batch_norm=True,
            use_scale=True,  # BARS's logged run (reczoo/BARS AutoInt+_frappe_x1 README)
            layer_norm=True,
        ),
    ),  # fmt: skip
    "fibinet": dict(  # bilinear type and SENET ratio: the BARS README's logged run
        embedding_l2=0.05,
        options=dict(
            hidden=_TOWER,
            dropout=0.3,
            batch_norm=True,
            bilinear_type="field_all",
            reduction_ratio=2,
        ),
    ),
    "finalmlp": dict(  # reczoo/BARS FinalMLP_frappe_x1 README's logged run (FuxiCTR 2.0.1)
        embedding_l2=0.05,
        options=dict(
            mlp1_hidden=(400,),
            mlp2_hidden=(100,),
            mlp1_dropout=0.4,
            mlp2_dropout=0.4,
            num_heads=5,
            batch_norm=True,
            fs_hidden=(400,),
            fs1_context=("user",),
            fs2_context=("item",),
        ),
    ),  # fmt: skip
    "mlr": dict(embedding_l2=1e-5),
    "neuralcf": dict(embedding_l2=0.05, options=dict(user_field="user", item_field="item")),
    "deep_crossing": dict(embedding_l2=0.05),
}
BARS_SEED = 2021  # the seed of every BARS leaderboard run


def bars_run(model: str, family: str, seed: int, *, sweep: str = "",
             max_epochs: int | None = None, data: DataConfig | None = None):  # fmt: skip
    """One run of `model` with its BARS_FRAPPE settings and connection `family` on `data`
    (default Frappe_x1), trained as FuxiCTR trains (FUXICTR_TRAIN, FUXICTR_INIT)."""
    if model not in BARS_FRAPPE:
        raise ValueError(
            f"no BARS settings for model {model!r} (BARS_FRAPPE has {sorted(BARS_FRAPPE)}); "
            "use grid() with settings of your own"
        )
    hp = BARS_FRAPPE[model]
    train = TrainConfig(
        lr=1e-3,
        batch_size=4096,
        max_epochs=max_epochs or hp.get("max_epochs", 100),
        patience=hp.get("patience", 2),
        embedding_l2=hp["embedding_l2"],
        **FUXICTR_TRAIN,
    )
    options = {k: list(v) if isinstance(v, tuple) else v for k, v in hp.get("options", {}).items()}
    return RunConfig(
        data=data or DataConfig(name="frappe"),
        model=ModelConfig(name=model, options=options, embedding_dim=10, init=FUXICTR_INIT),
        connection=ConnectionConfig(
            name=family, options=family_options(family, widths_differ=True, dag_group=40)
        ),
        train=train,
        seed=seed,
        sweep=sweep,
    )


def bars_grid(models, families, seeds=BARS_SEEDS, *, data: DataConfig, max_epochs=None):
    """models x families x seeds of bars_run on `data`: each model with its BARS Frappe_x1
    settings (BARS_FRAPPE), trained as FuxiCTR trains. A model x family pair that cannot work
    (ctr.models.compat) raises, naming the pair."""
    return [
        bars_run(m, f, s, data=data, max_epochs=max_epochs)
        for m in models
        for f in families
        for s in seeds
    ]


def bars_frappe() -> list[RunConfig]:
    """Our JAX models with the published architectures (connection `none`) and BARS settings
    reach the BARS Frappe_x1 test AUC within 0.003 on valid (same distribution; the shared data
    has no test split and a re-sampled train), in BARS's order: LR < FM < FFM/NFM < DNN family.
    Trained as FuxiCTR trains (bars_run: FUXICTR_TRAIN, FUXICTR_INIT)."""
    return [bars_run(m, "none", BARS_SEED, sweep="bars_frappe") for m in BARS_FRAPPE]


FAMILIES6 = ("none", "identity", "concat", "scaled", "gated", "dense")


def families_frappe_all() -> list[RunConfig]:
    """Does any residual family beat the published (plain) architecture of any Frappe_x1
    feature-interaction model under its BARS settings? Every model x 6 families x 3 seeds
    (incompatible pairs of ctr.models.compat skipped); the GPU sweep of issue 6. Trained as
    FuxiCTR trains (bars_run: FUXICTR_TRAIN, FUXICTR_INIT)."""
    return [
        bars_run(m, f, s, sweep="families_frappe_all")
        for m in BARS_FRAPPE
        for f in FAMILIES6
        if compatible(m, f)
        for s in BARS_SEEDS
    ]


def families_frappe_cpu() -> list[RunConfig]:
    """CPU subset of families_frappe_all (~1 h on 2 cores): one model per residual slot kind,
    DNN (MLP tower), DCN (cross layers + tower) and xDeepFM (CIN + tower + combination) x the 6
    families, plus FM once as a reference (it has no residual slot), seed 2021, at most 12
    epochs (BARS runs stop at epoch 14-19, so a capped run can end before the patience rule
    does). Trained as FuxiCTR trains (bars_run: FUXICTR_TRAIN, FUXICTR_INIT)."""
    return [
        bars_run(m, f, BARS_SEED, sweep="families_frappe_cpu", max_epochs=12)
        for m in ("fm", "dnn", "dcn", "xdeepfm")
        for f in FAMILIES6
        if compatible(m, f)
    ]


MODERN_FAMILIES = (
    "none", "identity", "scaled", "dense",
    "hyper", "mhc", "attnres", "deres", "laurel", "residual",
)  # fmt: skip
# (model, tower override): the BARS models whose towers are where the 2024-26 families compete
MODERN_MODELS = (
    ("dnn", {}),
    ("dnn", {"hidden": [400] * 8}),
    ("deepfm", {}),
    ("dcnv2", {}),
    ("finalmlp", {}),
)


def modern_frappe(models=MODERN_MODELS, sweep="modern_frappe") -> list[RunConfig]:
    """Do the residual families of 2024-26 (hyper-connections, mHC, attention over depth,
    DeRes, LAuReL, ResiDual) beat the published plain architecture of BARS models on Frappe_x1,
    where the 2015-20 shortcuts did not (families_frappe)? BARS settings per model, 3 seeds,
    paired against `none`; the 8 x 400 DNN asks whether depth is where they start to pay."""
    runs = []
    for model, tower in models:
        for family in MODERN_FAMILIES:
            for seed in BARS_SEEDS:
                run = bars_run(model, family, seed, sweep=sweep)
                options = {**run.model.options, **tower}
                runs.append(
                    dataclasses.replace(run, model=dataclasses.replace(run.model, options=options))
                )
    return runs


def modern_frappe_cpu() -> list[RunConfig]:
    """CPU subset of modern_frappe: the 3 x 400 BARS DNN tower only (30 runs)."""
    return modern_frappe(models=MODERN_MODELS[:1], sweep="modern_frappe_cpu")


def gbdt_frappe() -> list[RunConfig]:
    """GBDT+LR (issue 10) against LR and FM on Frappe_x1, 3 seeds: do the leaves of 30 boosted
    trees (fitted once on train, cached) add to the raw fields what FM's pairwise factors add?
    The heads take LR's and FM's BARS settings, trained as FuxiCTR trains (bars_run); the trees
    keep gbdt_lr's defaults (30 x 31)."""
    runs = [bars_run(m, "none", s, sweep="gbdt_frappe") for m in ("lr", "fm") for s in BARS_SEEDS]
    for head, like in (("lr", "lr"), ("fm", "fm")):
        for s in BARS_SEEDS:
            run = bars_run(like, "none", s, sweep="gbdt_frappe")
            model = dataclasses.replace(run.model, name="gbdt_lr", options={"head": head})
            runs.append(dataclasses.replace(run, model=model))
    return runs


# -- issues 7 and 20: behaviour-sequence models on Amazon Beauty and Toys ----------------------

# Beauty and Toys from the S3-Rec/ICLRec preprocessing, leave-last-out (ctr.datasets.amazon);
# histories cut to the last 20 items (Beauty's median sequence is ~6 items, so 20 keeps almost
# all of them and the recurrent models scan 20 steps, not 50, on the CPU).
AMAZON_BEAUTY = DataConfig(name="amazon", options={"file": "Beauty.txt", "max_len": 20})
AMAZON_TOYS = DataConfig(name="amazon", options={"file": "Toys_and_Games.txt", "max_len": 20})
SEQ_TRAIN = TrainConfig(lr=1e-3, batch_size=1024, max_epochs=30, patience=2)
SEQ_SEEDS = (0, 1, 2)
# Every model gets embedding dim 16 (FuxiCTR's DIN/DIEN/BST templates on its Amazon and
# Taobao sets) and Adam lr 1e-3 (the same templates and the papers); the rest per model:
SEQ_OPTIONS = {
    # the DIN paper's tower (200, 80); DNN sees user, target item and hist_len but no history
    # items (FeatureEmbedding skips sequence fields)
    "dnn": {"hidden": [200, 80]},
    # the DIN paper: tower (200, 80), attention MLP (80, 40), Dice; mba_l2 = 0: its Amazon
    # experiments use no regularizer (MBA is for MovieLens and Alibaba)
    "din": {"mba_l2": 0.0},
    # the DIEN paper: tower (200, 80) with Dice, GRU and AUGRU as wide as the embedding, aux
    # loss weight 1 (the paper's alpha; FuxiCTR's template aux_loss_alpha is 0, i.e. off)
    "dien": {},
    # the DSIN paper: tower (200, 80) with Dice, 2 heads (it uses 8 over its wider embedding),
    # Bi-LSTM interacting layer; sessions of 5 consecutive items (no timestamps here: the
    # paper's 30-minute cut cannot be applied, so sessions are position buckets)
    "dsin": {"session_len": 5},
    # the BST paper: one Transformer block (b = 1), tower (1024, 512, 256) with LeakyReLU,
    # attention dropout 0.1; heads 2 (the paper's 8 need a width divisible by 8 of 16: 2 keeps
    # 8-dim heads)
    "bst": {},
    # YouTube DNN ranking form: the paper's tower (1024, 512, 256) with ReLU over [context;
    # target; mean of the watched items]
    "youtube_dnn": {},
    # GRU4Rec-style encoder: one GRU layer over the history (the GRU4Rec paper's best
    # single-layer setting), last state into DIN's tower (200, 80)
    "gru4rec": {"depth": 1},
    # Transformer encoder (SASRec-sized: 1 block here as BST, 2 heads), DIN's tower (200, 80)
    "transformer_enc": {"depth": 1},
}
SEQ_MODELS = tuple(SEQ_OPTIONS)


def seq_run(data: DataConfig, model: str, seed: int, sweep: str, **options) -> RunConfig:
    return RunConfig(
        data=data,
        model=ModelConfig(name=model, options={**SEQ_OPTIONS[model], **options}, embedding_dim=16),
        connection=ConnectionConfig(name="none"),
        train=SEQ_TRAIN,
        seed=seed,
        sweep=sweep,
    )


def seq_amazon(data=(AMAZON_BEAUTY, AMAZON_TOYS), models=SEQ_MODELS) -> list[RunConfig]:
    """On Amazon Beauty and Toys (leave-last-out, one sampled negative per positive), gAUC
    orders DNN without history < pooled history (YouTube DNN) < target attention (DIN) <=
    interest evolution (DIEN, DSIN) and sequence encoders (GRU4Rec, BST, Transformer). Beauty's
    runs come first, so a stopped sweep has finished the first data set."""
    return [seq_run(d, m, s, "seq_amazon") for d in data for m in models for s in SEQ_SEEDS]


# DIEN's candidate causes of trailing DIN (issue 20), one change each from seq_amazon's DIEN,
# in the order they run (a stopped sweep has the first ones)
DIEN_VARIANTS = (
    {},
    {"aux_negatives": "items"},  # the paper's negatives: the item set, not the batch
    {"aux_coef": 0.0},  # the aux-loss weight: off (the paper's "w/o aux" row)
    {"gru_type": "agru"},  # the paper's ablation of the interest-evolving GRU
    {"gru_hidden": 64},  # GRU width 16 -> 64
    {"gru_type": "aigru"},
    {"aux_coef": 0.1},  # the aux-loss weight between off and the paper's 1
)


def dien_amazon(data=AMAZON_BEAUTY) -> list[RunConfig]:
    """DIEN trails DIN on Amazon Beauty (seq_amazon). If a difference from the paper is the
    cause, changing it back (item-set aux negatives, AGRU/AIGRU, a wider GRU, no aux loss)
    closes the gap on valid gAUC, paired over seeds; DIN and seq_amazon's DIEN are the
    reference rows (same configs, so the same run ids)."""
    runs = [seq_run(data, "din", s, "dien_amazon") for s in SEQ_SEEDS]
    runs += [seq_run(data, "dien", s, "dien_amazon", **v) for v in DIEN_VARIANTS for s in SEQ_SEEDS]
    return runs


# Issue 20's wrapper grid: the classic shortcuts and the stream families of issue 18
WRAPPER_FAMILIES = ("none", "identity", "scaled", "gated", "dense", "hyper", "mhc", "attnres")
WRAPPER_ENCODERS = ("gru4rec", "lstm", "transformer_enc")


def seq_wrappers(
    depths=(1, 2, 4, 8), models=WRAPPER_ENCODERS, sweep="seq_wrappers"
) -> list[RunConfig]:
    """Residual wrappers around GRU / LSTM / Transformer sequence blocks: plain stacks degrade
    with depth (1 -> 8), identity/scaled/gated/dense-wrapped stacks do not, and the stream
    families (hyper, mhc, attnres) add nothing a single identity stream lacks at these depths
    (Amazon Beauty, 3 seeds, paired against identity). Ordered encoder by encoder, so a
    stopped sweep holds complete encoders."""
    return [
        run
        for m in models
        for depth in depths
        for run in grid([m], WRAPPER_FAMILIES, SEQ_SEEDS, data=AMAZON_BEAUTY, train=SEQ_TRAIN,
                        model_options={m: {"depth": depth}}, embedding_dim=16, sweep=sweep)
    ]  # fmt: skip


def seq_wrappers_cpu() -> list[RunConfig]:
    """CPU subset of seq_wrappers: depths 1 and 4 (every family, 3 seeds). On 2 cores the GRU
    encoder took ~50 min without mhc at depth 4, which alone took ~20 min per epoch; the
    Transformer costs twice the GRU. Depths 2 and 8 need a GPU."""
    return seq_wrappers(depths=(1, 4), sweep="seq_wrappers_cpu")


# The family `resctr table` pairs each row with, where the sweep's question is "does any family
# beat the published architecture" (connection `none`) rather than "does it beat identity".
BASELINES = {
    "families_frappe_all": "none",
    "families_frappe_cpu": "none",
    "modern_frappe": "none",
    "modern_frappe_cpu": "none",
    "seq_amazon": "din",
    "dien_amazon": "din",
}

SWEEPS = {
    "smoke": smoke,
    "demo": demo,
    "families_frappe": families_frappe,
    "depth_frappe": depth_frappe,
    "norm_frappe": norm_frappe,
    "bars_frappe": bars_frappe,
    "families_frappe_all": families_frappe_all,
    "families_frappe_cpu": families_frappe_cpu,
    "gbdt_frappe": gbdt_frappe,
    "modern_frappe": modern_frappe,
    "modern_frappe_cpu": modern_frappe_cpu,
    "seq_amazon": seq_amazon,
    "dien_amazon": dien_amazon,
    "seq_wrappers": seq_wrappers,
    "seq_wrappers_cpu": seq_wrappers_cpu,
}
