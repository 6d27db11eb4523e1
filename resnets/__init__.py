"""Residual-connection families as pure linen modules (see DESIGN.md, "resnets").

`resnets.get(name, shared=False, **options)` returns a ConnectionFactory; `CONNECTIONS` is the
registry (a literal dict), `penalty` sums what families sow into "losses", `connection_summary`
reads the learned connection quantities back by parameter path.
"""

from __future__ import annotations

from typing import Any

from resnets.concat import ConcatConnection
from resnets.dag import DagConnection, DagTower
from resnets.dense import DenseConnection
from resnets.factory import ConnectionFactory, make_factory
from resnets.gated import GatedConnection
from resnets.identity import IdentityConnection
from resnets.none import NoConnection
from resnets.rezero import ReZeroConnection
from resnets.scaled import ScaledConnection
from resnets.stack import ResidualStack
from resnets.summary import connection_summary, penalty

CONNECTIONS: dict[str, type] = {
    "none": NoConnection,
    "identity": IdentityConnection,
    "concat": ConcatConnection,
    "scaled": ScaledConnection,
    "rezero": ReZeroConnection,
    "gated": GatedConnection,
    "dense": DenseConnection,
    "dag": DagConnection,
}


def get(name: str, *, shared: bool = False, **options: Any) -> ConnectionFactory:
    """Factory for family `name`; KeyError lists the families, TypeError names a bad option."""
    if name not in CONNECTIONS:
        raise KeyError(f"unknown connection family {name!r}; choose from {sorted(CONNECTIONS)}")
    if name == "dense" and shared and options.get("max_depth") is None:
        raise ValueError(
            "dense with shared=True needs max_depth=L (the stack depth): one shared instance "
            "then owns the full (L, L+1) adjacency matrix"
        )
    return make_factory(name, CONNECTIONS[name], options, shared=shared)


def fixed_width(factory: ConnectionFactory) -> ConnectionFactory:
    """The factory for a slot whose width must not grow: concat becomes concat(project=True)."""
    return factory.replace(project=True) if factory.family == "concat" else factory


__all__ = [
    "CONNECTIONS",
    "ConnectionFactory",
    "DagTower",
    "ResidualStack",
    "connection_summary",
    "fixed_width",
    "get",
    "penalty",
]
