"""Which model x connection-family pairs cannot work, and why: the one compatibility table.

Fixed-width slots run `concat` as concat(project=True), so most pairs work; a pair listed here
raises a ValueError naming the pair and the reason.
"""

from __future__ import annotations

# (model, family) -> reason. Models append their own rows here (one line each, sorted by model).
INCOMPATIBLE: dict[tuple[str, str], str] = {}


def check_compatible(model: str, family: str) -> None:
    reason = INCOMPATIBLE.get((model, family))
    if reason is not None:
        raise ValueError(f"model {model!r} cannot use connection family {family!r}: {reason}")
