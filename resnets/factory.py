"""Connection factories: a family name plus its options, turned into linen modules on demand.

A connection module implements the residual stream contract of resnets.stream (init_state,
read, write, readout). resnets.stack creates one instance per layer of a residual slot with
`factory(name=f"conn_{i}")`, or a single instance for every layer when `factory.shared`.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any

import flax.linen as nn


@dataclasses.dataclass(frozen=True)
class ConnectionFactory:
    family: str
    cls: type[nn.Module]
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    shared: bool = False

    def __call__(self, name: str | None = None, **overrides: Any) -> nn.Module:
        return self.cls(name=name, **{**self.options, **overrides})

    def replace(self, **options: Any) -> ConnectionFactory:
        """Same family with some options changed (validated like `get`)."""
        return make_factory(self.family, self.cls, {**self.options, **options}, self.shared)

    def accepts(self, option: str) -> bool:
        return option in _option_names(self.cls)


def _option_names(cls: type[nn.Module]) -> set[str]:
    fields = {f.name for f in dataclasses.fields(cls)} - {"parent", "name"}
    return fields


def _check_options(family: str, cls: type[nn.Module], options: Mapping[str, Any]) -> None:
    valid = _option_names(cls)
    for key in options:
        if key not in valid:
            raise TypeError(
                f"connection family {family!r} has no option {key!r}; "
                f"its options are {sorted(valid) or 'none'}"
            )


def canonical_options(cls: type[nn.Module], options: Mapping[str, Any]) -> dict[str, Any]:
    """Options with renamed keys (the family's `renamed`, {old: new}) under their new names."""
    renamed = getattr(cls, "renamed", {})
    out = {}
    for key, value in options.items():
        new = renamed.get(key, key)
        if new in out or (new != key and new in options):
            raise TypeError(f"option {new!r} given twice (once as its old name {key!r})")
        out[new] = value
    return out


def legacy_options(cls: type[nn.Module], options: Mapping[str, Any]) -> dict[str, Any]:
    """Options under the names they had when run ids were first computed (for run ids)."""
    old = {new: old for old, new in getattr(cls, "renamed", {}).items()}
    return {old.get(key, key): value for key, value in options.items()}


def make_factory(
    family: str, cls: type[nn.Module], options: Mapping[str, Any], shared: bool = False
) -> ConnectionFactory:
    options = canonical_options(cls, options)
    _check_options(family, cls, options)
    cls.check_options(options, shared=shared)
    return ConnectionFactory(family=family, cls=cls, options=options, shared=shared)


def option_defaults(cls: type[nn.Module]) -> dict[str, Any]:
    """Documented defaults of a family's options, for `resctr families`."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.name in ("parent", "name"):
            continue
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def first_doc_line(obj: Any) -> str:
    return (inspect.getdoc(obj) or "").splitlines()[0] if inspect.getdoc(obj) else ""
