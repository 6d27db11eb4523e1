"""Run configurations: frozen keyword-only dataclasses, validated at construction.

A `RunConfig` is everything that determines a run (data, model, connection, training protocol,
seed); `run_id` is derived from it, so the same config always lands in the same run folder.
Variants use `dataclasses.replace`; the command line uses dotted overrides (`apply_overrides`).
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import inspect
import json
import re
from typing import Any

import resnets
from ctr.layers.init_scheme import check_init_scheme
from ctr.models import MODELS, check_compatible

MONITORS = ("auc", "logloss")
OPTIMIZERS = ("adam", "lazy_adam")  # lazy_adam: experiments/optimizers.py
COMPUTE_DTYPES = ("float32", "bfloat16")  # bfloat16: mixed precision, f32 params and loss
NET_L2_PARAMS = ("kernels", "all")  # all: every non-embedding parameter (FuxiCTR's net_regularizer)


def _frozen(options: dict) -> dict:
    """Options as plain JSON-able values (tuples become lists) so JSON round-trips are exact."""
    return json.loads(json.dumps(options))


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataConfig:
    name: str = "synthetic"
    options: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelConfig:
    name: str
    options: dict = dataclasses.field(default_factory=dict)
    embedding_dim: int = 10
    init: str = "flax"  # initialisation scheme (ctr/layers/init_scheme.py); "fuxictr": the peer's

    def __post_init__(self):
        check_init_scheme(self.init)
        if self.name not in MODELS:
            raise ValueError(f"unknown model {self.name!r}; choose from {sorted(MODELS)}")
        own = set(inspect.signature(MODELS[self.name]).parameters) - {
            "spec", "connection", "embedding_dim", "parent", "name"
        }  # fmt: skip
        bad = sorted(set(self.options) - own)
        if bad:
            raise ValueError(
                f"model {self.name!r} has no option(s) {bad}; its options are {sorted(own)}"
            )
        if self.embedding_dim < 1:
            raise ValueError(f"embedding_dim must be >= 1, got {self.embedding_dim}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConnectionConfig:
    name: str = "none"
    options: dict = dataclasses.field(default_factory=dict)
    shared: bool = False

    def __post_init__(self):
        if self.name not in resnets.CONNECTIONS:
            raise ValueError(
                f"unknown connection family {self.name!r}; "
                f"choose from {sorted(resnets.CONNECTIONS)}"
            )
        try:
            # stored configs may use an option's old name (dense/dag `init`): keep the new one
            object.__setattr__(self, "options", self.factory().options)
        except (TypeError, ValueError) as e:  # resnets names the bad option and the valid ones
            raise ValueError(str(e)) from None

    def factory(self) -> resnets.ConnectionFactory:
        return resnets.get(self.name, shared=self.shared, **self.options)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    lr: float = 1e-3
    batch_size: int = 4096
    max_epochs: int = 100
    patience: int = 2
    lr_decay: float = 0.1  # lr multiplier after a non-improving epoch (BARS ReduceLROnPlateau)
    embedding_l2: float = 0.0
    net_l2: float = 0.0
    monitor: str = "auc"
    eval_batch_size: int = 16384
    data_parallel: bool = False  # shard the batch over every local device
    shard_embeddings: bool = False  # with data_parallel: split tables along the vocabulary
    compute_dtype: str = "float32"  # forward/backward dtype; params, optimizer, loss stay f32
    optimizer: str = "adam"  # "lazy_adam": row-sparse Adam on embedding tables
    # FuxiCTR's BaseModel defaults (docs/peer_parity.md); 0 / "kernels" keep resctr's behaviour.
    grad_clip_norm: float = 0.0  # > 0: scale the gradient to this global L2 norm when above it
    min_lr: float = 0.0  # floor of the lr decay (FuxiCTR lr_decay's min_lr 1e-6)
    min_delta: float = 0.0  # an epoch improves only by more than this (FuxiCTR's 1e-6)
    net_l2_params: str = "kernels"  # what net_l2 covers: Dense/cross kernels, or "all" params
    # A regex with one group that captures a layer index from a parameter path ("tower/block_3/
    # Dense_0/kernel"): every step then also returns each layer's gradient norm, written per
    # epoch to metrics.jsonl (experiments/train.py). "" (off) leaves the step as it was.
    grad_norm_layers: str = ""

    def __post_init__(self):
        if self.monitor not in MONITORS:
            raise ValueError(f"monitor {self.monitor!r}; choose from {MONITORS}")
        for name in ("batch_size", "max_epochs", "patience", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"train.lr must be > 0, got {self.lr}")
        if self.compute_dtype not in COMPUTE_DTYPES:
            raise ValueError(
                f"train.compute_dtype {self.compute_dtype!r}; choose from {COMPUTE_DTYPES}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"train.optimizer {self.optimizer!r}; choose from {OPTIMIZERS}")
        for name in ("grad_clip_norm", "min_lr", "min_delta"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"train.{name} must be >= 0 (0: off), got {getattr(self, name)}")
        if self.net_l2_params not in NET_L2_PARAMS:
            raise ValueError(
                f"train.net_l2_params {self.net_l2_params!r}; choose from {NET_L2_PARAMS}"
            )
        if self.grad_norm_layers:
            try:
                groups = re.compile(self.grad_norm_layers).groups
            except re.error as e:
                raise ValueError(f"train.grad_norm_layers is not a regex: {e}") from None
            if groups != 1:
                raise ValueError(
                    f"train.grad_norm_layers {self.grad_norm_layers!r} needs exactly one group "
                    r"that captures the layer index, e.g. 'tower/block_(\d+)/'"
                )
        if self.optimizer == "lazy_adam" and self.embedding_l2 > 0:
            raise ValueError(
                "train.optimizer='lazy_adam' needs train.embedding_l2=0: the L2 term covers the "
                "whole table, so every row has a gradient and lazy Adam would be dense Adam"
            )


# Fields added after the first published results, by config section: left out of run_id at
# their defaults, so run folders written before them keep their ids (resume, tables, the
# README's numbers).
HASH_OMITTED_DEFAULTS = {
    "train": {
        "compute_dtype": "float32",
        "optimizer": "adam",
        "grad_clip_norm": 0.0,
        "min_lr": 0.0,
        "min_delta": 0.0,
        "net_l2_params": "kernels",
        "grad_norm_layers": "",
    },
    "model": {"init": "flax"},
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig:
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig
    connection: ConnectionConfig = dataclasses.field(default_factory=ConnectionConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    seed: int = 0
    sweep: str = ""

    def __post_init__(self):
        check_compatible(self.model.name, self.connection.name)

    def to_json(self) -> dict:
        return _frozen(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, d: dict) -> RunConfig:
        return cls(
            data=DataConfig(**d["data"]),
            model=ModelConfig(**d["model"]),
            connection=ConnectionConfig(**d["connection"]),
            train=TrainConfig(**d["train"]),
            seed=d["seed"],
            sweep=d.get("sweep", ""),
        )

    @property
    def run_id(self) -> str:
        """Readable prefix plus a hash of the whole config (the sweep name excluded)."""
        d = self.to_json()
        d.pop("sweep")
        for section, defaults in HASH_OMITTED_DEFAULTS.items():
            for key, default in defaults.items():
                if d[section].get(key) == default:
                    del d[section][key]
        # renamed family options hash under their old names, so old run folders keep their ids
        family = resnets.CONNECTIONS[self.connection.name]
        d["connection"]["options"] = resnets.legacy_options(family, d["connection"]["options"])
        digest = hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.model.name}-{self.connection.name}-s{self.seed}-{digest}"

    def seedless_key(self) -> str:
        """Identifies the group of runs that differ only in seed (they train as one vmap)."""
        d = self.to_json()
        d.pop("seed")
        return json.dumps(d, sort_keys=True)


def _parse_value(text: str) -> Any:
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError):
            continue
    return text  # a bare word: a string


def apply_overrides(cfg: RunConfig, overrides: list[str]) -> RunConfig:
    """`["train.lr=3e-4", "model.options.hidden=[64,64]"]` -> a new, re-validated RunConfig."""
    d = cfg.to_json()
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} is not key=value")
        *parents, leaf = key.strip().split(".")
        node = d
        for p in parents:
            if not isinstance(node.get(p), dict):
                raise ValueError(f"override {item!r}: {p!r} is not a config section")
            node = node[p]
        if leaf not in node and not parents[-1:] == ["options"]:
            raise ValueError(f"override {item!r}: no key {leaf!r}; keys are {sorted(node)}")
        node[leaf] = _parse_value(text.strip())
    try:
        return RunConfig.from_json(d)
    except TypeError as e:
        raise ValueError(f"bad override in {overrides}: {e}") from None
