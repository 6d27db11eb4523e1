"""Feature schema: what a prepared data set holds, and all a model needs to build itself.

Id conventions shared by every data set (so models never special-case one):
  * categorical and sequence ids are int32; id 0 is padding (sequences pad with it),
    id 1 is out-of-vocabulary, ids >= 2 are the train vocabulary; `vocab_size` counts all of them.
  * numeric fields are float32 scalars per row.
  * sequence fields are int32 arrays (B, max_len), left-aligned, padded with 0; a sequence field
    `hist` may come with a numeric length field named in `length_field`. They are ordered
    behaviour histories, read by the sequence models (DIN, DIEN, ...) only.
  * multihot fields are stored like sequences, but are an unordered bag of tokens per row (a
    movie's genres): every model embeds them as the mean of their tokens' rows, one field among
    the others (FuxiCTR's MaskedAveragePooling of a sequence feature).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

Kind = Literal["categorical", "numeric", "sequence", "multihot"]
KINDS: tuple[str, ...] = ("categorical", "numeric", "sequence", "multihot")
TOKEN_KINDS = ("sequence", "multihot")  # (B, max_len) id arrays
PAD_ID = 0
OOV_ID = 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class Field:
    name: str
    kind: Kind
    vocab_size: int = 0  # categorical/sequence: number of ids including PAD and OOV
    embedding_dim: int = 10
    group: str | None = None  # fields with the same group share one embedding table
    max_len: int = 0  # sequence and multihot fields only
    length_field: str | None = None  # sequence fields: numeric field holding the true length

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"field {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind != "numeric" and self.vocab_size < 2:
            raise ValueError(f"field {self.name!r}: vocab_size must be >= 2 (PAD and OOV)")
        if self.kind in TOKEN_KINDS and self.max_len < 1:
            raise ValueError(f"{self.kind} field {self.name!r} needs max_len >= 1")
        if self.embedding_dim < 1:
            raise ValueError(f"field {self.name!r}: embedding_dim must be >= 1")

    @property
    def table(self) -> str:
        """Name of the embedding table this field reads (its group, else its own name)."""
        return self.group or self.name


@dataclasses.dataclass(frozen=True, kw_only=True)
class FeatureSpec:
    fields: tuple[Field, ...]
    label: str = "label"
    user_field: str | None = None  # enables gAUC
    # Per-example loss weights are not implemented: no builder writes a weight column and the
    # loss and metrics would ignore it, so a spec naming one is rejected. The key stays so the
    # spec.json of prepared data sets (which carry weight_field: null) still loads.
    weight_field: str | None = None

    def __post_init__(self):
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate field names in {names}")
        if self.weight_field is not None:
            raise ValueError(
                f"weight_field={self.weight_field!r}: per-example loss weights are not "
                "supported (training and metrics would ignore the column); leave it unset"
            )
        if self.user_field is not None and self.user_field not in names:
            raise ValueError(f"user_field {self.user_field!r} is not a field: {names}")
        for f in self.fields:
            if f.length_field is not None and f.length_field not in names:
                raise ValueError(f"{f.name}: length_field {f.length_field!r} is not a field")
        tables: dict[str, int] = {}
        for f in self.fields:
            if f.kind != "numeric" and tables.setdefault(f.table, f.vocab_size) != f.vocab_size:
                raise ValueError(f"group {f.table!r}: fields disagree on vocab_size")

    def of_kind(self, kind: Kind) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.kind == kind)

    @property
    def categorical(self) -> tuple[Field, ...]:
        return self.of_kind("categorical")

    @property
    def numeric(self) -> tuple[Field, ...]:
        return self.of_kind("numeric")

    @property
    def sequence(self) -> tuple[Field, ...]:
        return self.of_kind("sequence")

    @property
    def multihot(self) -> tuple[Field, ...]:
        return self.of_kind("multihot")

    @property
    def num_fields(self) -> int:
        return len(self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"no field {name!r}; fields: {[f.name for f in self.fields]}")

    def with_embedding_dim(self, dim: int) -> FeatureSpec:
        fields = tuple(dataclasses.replace(f, embedding_dim=dim) for f in self.fields)
        return dataclasses.replace(self, fields=fields)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> FeatureSpec:
        fields = tuple(Field(**f) for f in d["fields"])
        return cls(**{**d, "fields": fields})
