"""The FuxiCTR side of bench/peer.py: a BARS model on Frappe_x1, one JSON line of results.

Runs in the peer's own environment (fuxictr 2.3.9 + torch; see bench/README.md), never in the
resctr one. The model is FuxiCTR's own model_zoo class (DeepFM, DNN, DCNv2, FinalMLP, DCN,
xDeepFM, WideDeep, AutoInt (AutoInt+ too), FiBiNET), imported at run time from a FuxiCTR source
tree (`--fuxictr-src`, a v2.3.9 checkout), since the 2.3.9 wheel ships no model_zoo. Without a
source tree, DeepFM (Guo et al. 2017, eq. 1: y = sigmoid(LR(x) + FM(e) + MLP([e_1; ...; e_F])))
is assembled from the wheel's layers as the model_zoo does (FeatureEmbedding,
FactorizationMachine = LR + pairwise inner products, MLP_Block). Everything else is FuxiCTR's
own: FeatureProcessor -> build_dataset (CSV -> vocab -> parquet) -> FeatureMap -> RankDataLoader
(parquet, shuffled, one worker process), and BaseModel.fit (Adam, BCE + embedding L2, grad-norm
clip 10, lr x0.1 on a non-improving epoch, early stop, reload best). The `Timed` mixin only adds
timestamps around FuxiCTR's train_epoch and eval_step, and has every validation compute logloss
beside the monitored AUC (the curves).

Usage: peer_fuxictr.py --train CSV --valid CSV --workdir DIR --model-kwargs JSON
       [--model deepfm --fuxictr-src DIR --max-epochs N --threads N --seed N ...]
"""

import argparse
import importlib.util
import inspect
import json
import logging
import os
import pathlib
import statistics
import time

import numpy as np
import sklearn.metrics

# Shims for libraries newer than fuxictr 2.3.9 expects, applied before fuxictr is imported:
# numpy 2 removed np.Inf (BaseModel.fit uses it), scikit-learn 1.5 removed log_loss(eps=).
# (PyYAML reading 1e-5 as a string does not arise: no YAML config is read here.)
if not hasattr(np, "Inf"):
    np.Inf = np.inf  # noqa: NPY201 - restores the alias numpy 2 removed
if "eps" not in inspect.signature(sklearn.metrics.log_loss).parameters:
    _log_loss = sklearn.metrics.log_loss
    sklearn.metrics.log_loss = lambda y, p, eps=None, **kw: _log_loss(y, p, **kw)

import torch  # noqa: E402
from fuxictr import __version__ as fuxictr_version  # noqa: E402
from fuxictr.features import FeatureMap  # noqa: E402
from fuxictr.preprocess import FeatureProcessor, build_dataset  # noqa: E402
from fuxictr.pytorch.dataloaders import RankDataLoader  # noqa: E402
from fuxictr.pytorch.layers import FactorizationMachine, FeatureEmbedding, MLP_Block  # noqa: E402
from fuxictr.pytorch.models import BaseModel  # noqa: E402
from fuxictr.pytorch.torch_utils import seed_everything  # noqa: E402

FIELDS = ["user", "item", "daytime", "weekday", "isweekend", "homework", "cost", "weather",
          "country", "city"]  # fmt: skip


# --model -> (file under model_zoo/ of a FuxiCTR source tree, class name)
ZOO = {
    "deepfm": ("DeepFM/DeepFM_torch/src/DeepFM.py", "DeepFM"),
    "dnn": ("DNN/DNN_torch/src/DNN.py", "DNN"),
    "dcnv2": ("DCNv2/src/DCNv2.py", "DCNv2"),
    "finalmlp": ("FinalMLP/src/FinalMLP.py", "FinalMLP"),
    "dcn": ("DCN/DCN_torch/src/DCN.py", "DCN"),
    "xdeepfm": ("xDeepFM/src/xDeepFM.py", "xDeepFM"),
    "wide_deep": ("WideDeep/WideDeep_torch/src/WideDeep.py", "WideDeep"),
    "autoint": ("AutoInt/src/AutoInt.py", "AutoInt"),
    "autoint_plus": ("AutoInt/src/AutoInt.py", "AutoInt"),
    "fibinet": ("FiBiNET/src/FiBiNET.py", "FiBiNET"),
}


class LayersDeepFM(BaseModel):
    """DeepFM from the wheel's layers, as model_zoo/DeepFM/DeepFM_torch/src/DeepFM.py builds it."""

    def __init__(self, feature_map, *, embedding_dim, hidden_units, hidden_activations,
                 net_dropout, batch_norm, learning_rate, **kw):  # fmt: skip
        super().__init__(feature_map, model_id="DeepFM", **kw)
        self.embedding_layer = FeatureEmbedding(feature_map, embedding_dim)
        self.fm = FactorizationMachine(feature_map)
        self.mlp = MLP_Block(
            input_dim=feature_map.num_fields * embedding_dim,
            output_dim=1,
            hidden_units=list(hidden_units),
            hidden_activations=hidden_activations,
            dropout_rates=net_dropout,
            batch_norm=batch_norm,
        )
        self.compile(kw["optimizer"], kw["loss"], learning_rate)
        self.reset_parameters()
        self.model_to_device()

    def forward(self, inputs):
        X = self.get_inputs(inputs)
        emb = self.embedding_layer(X)
        logit = self.fm(X, emb) + self.mlp(emb.flatten(start_dim=1))
        return {"y_pred": self.output_activation(logit)}


class Timed:
    """Mixed into a FuxiCTR model: per-epoch wall and eval time, and the valid AUC and logloss
    of every validation (FuxiCTR's eval_step computes only the monitored AUC)."""

    def setup_timing(self):
        os.makedirs(self.model_dir, exist_ok=True)  # FuxiCTR's set_logger would create it
        self.epoch_s, self.eval_s, self.curve = [], [], []

    def train_epoch(self, data_generator):
        t0 = time.perf_counter()
        super().train_epoch(data_generator)
        self.epoch_s.append(time.perf_counter() - t0)

    def eval_step(self):
        t0 = time.perf_counter()
        super().eval_step()
        self.eval_s.append(time.perf_counter() - t0)

    def evaluate(self, data_generator, metrics=None):
        return super().evaluate(data_generator, metrics=["AUC", "logloss"])

    def checkpoint_and_earlystop(self, logs, min_delta=1e-6):
        self.curve.append({"auc": float(logs["AUC"]), "logloss": float(logs["logloss"])})
        super().checkpoint_and_earlystop(logs, min_delta)


def model_class(name: str, src: str | None) -> type:
    """FuxiCTR's model_zoo class `name` from the source tree `src`, with the Timed mixin."""
    if src is None:
        if name != "deepfm":
            raise SystemExit(f"--model {name} needs --fuxictr-src (a FuxiCTR v2.3.9 checkout)")
        base = LayersDeepFM
    else:
        path, cls = ZOO[name]
        file = pathlib.Path(src) / "model_zoo" / path
        if not file.exists():
            raise SystemExit(f"{file}: not found; --fuxictr-src must be a FuxiCTR source tree")
        spec = importlib.util.spec_from_file_location(f"fuxictr_zoo_{name}", file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        base = getattr(module, cls)
    return type(f"Timed{base.__name__}", (Timed, base), {})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", required=True, help="plain train.csv (FuxiCTR reads no .gz)")
    p.add_argument("--valid", required=True, help="plain valid.csv")
    p.add_argument("--workdir", required=True, help="scratch folder for parquet + checkpoints")
    p.add_argument("--max-epochs", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--seed", type=int, default=2021)
    p.add_argument("--batch-size", type=int, default=4096)
    p.add_argument("--patience", type=int, default=2)
    p.add_argument("--model", choices=sorted(ZOO), default="deepfm")
    p.add_argument("--model-kwargs", required=True, help="JSON: the model_zoo class's options")
    p.add_argument("--fuxictr-src", help="FuxiCTR source tree whose model_zoo/ to import")
    p.add_argument("--verbose", action="store_true", help="FuxiCTR's logging and progress bars")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING)
    torch.set_num_threads(a.threads)
    if a.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: this torch build sees no CUDA device")
    seed_everything(a.seed)

    t0 = time.perf_counter()
    dataset_id = "frappe_x1_bench"
    cols = [{"name": FIELDS, "active": True, "dtype": "str", "type": "categorical"}]
    label = {"name": "label", "dtype": "float"}
    proc = FeatureProcessor(cols, label, dataset_id=dataset_id, data_root=a.workdir)
    train_path, valid_path, _ = build_dataset(
        proc, train_data=a.train, valid_data=a.valid, min_categr_count=1
    )
    feature_map = FeatureMap(dataset_id, proc.data_dir)
    model_kwargs = json.loads(a.model_kwargs)
    # as FuxiCTR's run_expid.py: the map's default embedding width (model_zoo reads it)
    feature_map.load(
        os.path.join(proc.data_dir, "feature_map.json"),
        {"embedding_dim": model_kwargs["embedding_dim"]},
    )
    train_gen, valid_gen = RankDataLoader(
        feature_map,
        stage="train",
        train_data=train_path,
        valid_data=valid_path,
        batch_size=a.batch_size,
        shuffle=True,
        data_format="parquet",
    ).make_iterator()
    prep_s = time.perf_counter() - t0

    model = model_class(a.model, a.fuxictr_src)(
        feature_map,
        gpu=0 if a.device == "cuda" else -1,
        monitor="AUC",
        monitor_mode="max",
        early_stop_patience=a.patience,
        verbose=int(a.verbose),
        model_root=os.path.join(a.workdir, "checkpoints"),
        metrics=["logloss", "AUC"],
        optimizer="adam",
        loss="binary_crossentropy",
        **model_kwargs,
    )
    model.setup_timing()
    t1 = time.perf_counter()
    model.fit(train_gen, epochs=a.max_epochs, validation_data=valid_gen)
    fit_s = time.perf_counter() - t1  # to the early-stopped result: best weights reloaded
    model._verbose = 0
    best = model.evaluate(valid_gen)
    train_s = [e - v for e, v in zip(model.epoch_s, model.eval_s, strict=True)]
    n_train = train_gen.num_samples
    steady = train_s[1:] or train_s  # epoch 1 also pays warm-up (allocator, worker start)
    print(
        json.dumps(
            {
                "tool": f"fuxictr {fuxictr_version} / torch {torch.__version__}",
                "model": type(model).__name__,
                "seed": a.seed,
                "device": str(model.device),
                "threads": torch.get_num_threads(),
                "n_train": n_train,
                "params": sum(p.numel() for p in model.parameters()),
                "prep_s": prep_s,
                "epochs": len(model.epoch_s),
                "best_epoch": int(np.argmax([c["auc"] for c in model.curve])) + 1,
                "epoch_wall_s": model.epoch_s,
                "epoch_train_s": train_s,
                "examples_per_s": n_train / statistics.median(steady),
                "fit_s": fit_s,
                "valid_auc": float(best["AUC"]),
                "valid_logloss": float(best["logloss"]),
                "valid_auc_per_epoch": [c["auc"] for c in model.curve],
                "valid_logloss_per_epoch": [c["logloss"] for c in model.curve],
            }
        )
    )


if __name__ == "__main__":
    main()
