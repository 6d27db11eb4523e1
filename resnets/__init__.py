"""Residual-connection families as pure linen modules (see DESIGN.md, "resnets").

`resnets.get(name, shared=False, **options)` returns a ConnectionFactory; `CONNECTIONS` is the
registry (a literal dict). Every family implements the residual stream contract of
resnets.stream; `residual_stack` (resnets.stack) is the one loop every residual slot runs.
`penalty` sums what families sow into "losses", `connection_summary` reads the learned
connection quantities back by parameter path.
"""

from __future__ import annotations

from typing import Any

from resnets.attnres import AttnResConnection
from resnets.concat import ConcatConnection
from resnets.dag import DagConnection, DagTower
from resnets.dense import DenseConnection
from resnets.deres import DeResConnection
from resnets.factory import ConnectionFactory, legacy_options, make_factory
from resnets.gated import GatedConnection
from resnets.hyper import HyperConnection
from resnets.identity import IdentityConnection
from resnets.laurel import LaurelConnection
from resnets.mhc import ManifoldHyperConnection
from resnets.none import NoConnection
from resnets.residual import ResiDualConnection
from resnets.rezero import ReZeroConnection
from resnets.scaled import ScaledConnection
from resnets.stack import Layer, MLPTower, ResidualStack, residual_stack, run_layers, slot_factory
from resnets.stream import StateStream, Stream
from resnets.summary import connection_summary, penalty

CONNECTIONS: dict[str, type[Stream]] = {
    "none": NoConnection,
    "identity": IdentityConnection,
    "concat": ConcatConnection,
    "scaled": ScaledConnection,
    "rezero": ReZeroConnection,
    "gated": GatedConnection,
    "dense": DenseConnection,
    "dag": DagConnection,
    "hyper": HyperConnection,
    "mhc": ManifoldHyperConnection,
    "attnres": AttnResConnection,
    "deres": DeResConnection,
    "laurel": LaurelConnection,
    "residual": ResiDualConnection,
}


def get(name: str, *, shared: bool = False, **options: Any) -> ConnectionFactory:
    """Factory for family `name`; KeyError lists the families, TypeError names a bad option."""
    if name not in CONNECTIONS:
        raise KeyError(f"unknown connection family {name!r}; choose from {sorted(CONNECTIONS)}")
    return make_factory(name, CONNECTIONS[name], options, shared=shared)


__all__ = [
    "CONNECTIONS",
    "ConnectionFactory",
    "DagTower",
    "Layer",
    "MLPTower",
    "ResidualStack",
    "StateStream",
    "Stream",
    "connection_summary",
    "get",
    "legacy_options",
    "penalty",
    "residual_stack",
    "run_layers",
    "slot_factory",
]
