"""`resctr families`: every residual-connection family with its formula, options and defaults."""

from __future__ import annotations

import argparse

import resnets
from resnets.factory import first_doc_line, option_defaults


def describe() -> str:
    """One block per family: name and formula, then `option = default` lines."""
    lines = []
    for name, cls in resnets.CONNECTIONS.items():
        lines.append(f"{name:10s} {first_doc_line(cls)}")
        defaults = option_defaults(cls)
        lines += [f"{'':10s}   {key} = {value!r}" for key, value in defaults.items()]
        note = f"  ({cls.shared_note})" if cls.shared_note else ""
        lines.append(f"{'':10s}   shared = False{note}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    del args
    print(describe())
    return 0


def register(sub) -> None:
    parser = sub.add_parser(
        "families", help="list residual-connection families, their formulas and options"
    )
    parser.set_defaults(func=_run)
