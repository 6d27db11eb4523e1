"""`resctr` command line: a thin dispatcher; each command group lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module defines register(subparsers) adding its commands with set_defaults(func=...).
COMMAND_MODULES = (
    "experiments.cli_families",
    "experiments.cli_data",
    "experiments.cli_run",
    "experiments.cli_repro",
    "experiments.cli_launch",
    "experiments.cli_retrieval",
)


def key_value_pairs(pairs: list[str], flag: str, expected: str = "key=value"):
    """Repeated `flag KEY=VALUE` arguments as (key, value) pairs, in order; a pair without "="
    or a key stops with what was expected."""
    out = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"{flag} {pair!r}: expected {expected}")
        out.append((key, value))
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resctr", description="Residual-connection ablations on CTR models (JAX/Flax)."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
