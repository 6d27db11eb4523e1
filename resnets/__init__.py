"""Residual-connection families as pure linen modules (see DESIGN.md, "resnets")."""

from __future__ import annotations

from typing import Any

from resnets.factory import ConnectionFactory, make_factory
from resnets.identity import IdentityConnection
from resnets.none import NoConnection
from resnets.stack import ResidualStack

CONNECTIONS: dict[str, type] = {
    "none": NoConnection,
    "identity": IdentityConnection,
}


def get(name: str, *, shared: bool = False, **options: Any) -> ConnectionFactory:
    """Factory for family `name`; KeyError lists the families, TypeError names a bad option."""
    if name not in CONNECTIONS:
        raise KeyError(f"unknown connection family {name!r}; choose from {sorted(CONNECTIONS)}")
    return make_factory(name, CONNECTIONS[name], options, shared=shared)


__all__ = ["CONNECTIONS", "ConnectionFactory", "ResidualStack", "get"]
