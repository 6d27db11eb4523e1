"""Connection factories: a family name plus its options, turned into linen modules on demand.

A connection module is called as `conn(hist, fx, *, train=False) -> h_next`, where `hist` is
the list of states so far (hist[0] is the stack input, hist[-1] the current state x) and `fx`
is the block output f(read(hist)). Backbones create one instance per residual slot with
`factory(name=f"conn_{i}")`, or a single instance for every slot when `factory.shared`.
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
        _check_options(self.family, self.cls, options)
        return dataclasses.replace(self, options={**self.options, **options})

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


def make_factory(
    family: str, cls: type[nn.Module], options: Mapping[str, Any], shared: bool = False
) -> ConnectionFactory:
    _check_options(family, cls, options)
    return ConnectionFactory(family=family, cls=cls, options=dict(options), shared=shared)


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
