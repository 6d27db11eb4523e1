"""`resctr data prepare NAME --manual-dir DIR` and `resctr data info NAME`: build the cached
data set once, then show what it holds (rows, positive rate, vocabularies, OOV rates, and the
Bayes-optimal metrics of synthetic data). `resctr data prepare csv --schema FILE --manual-dir
DIR` reads the columns from a schema file and registers the schema's name (ctr.datasets.schema),
which `data info`, `data prepare` and sweep files then use like a builder's."""

from __future__ import annotations

import sys
import time

from ctr import datasets
from ctr.datasets import describe, store
from experiments.cli import key_value_pairs


def _options(pairs: list[str]) -> dict[str, str]:
    return dict(key_value_pairs(pairs, "--option"))


def _common(p) -> None:
    p.add_argument(
        "name",
        help=f"a builder ({', '.join(sorted(datasets.BUILDERS))}) or a prepared schema's name",
    )
    p.add_argument("--data-dir", default=None, help="cache root (default $RESCTR_DATA_DIR)")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="builder option, repeatable (e.g. min_count=2, rows=100000)",
    )


def _show(args, folder) -> None:
    info = store.read_info(folder)
    st = describe.stats(store.read_spec(folder), store.read_splits(folder), info)
    print(describe.format_stats(args.name, st))
    print(f"cached in {folder}")


def prepare(args) -> int:
    start = time.perf_counter()
    common = dict(data_dir=args.data_dir, manual_dir=args.manual_dir, force=args.force,
                  records=args.records)  # fmt: skip
    try:
        if args.schema is None:
            folder = datasets.prepare(args.name, **common, **_options(args.option))
        else:
            if args.name != "csv" or args.option:
                raise ValueError("--schema describes a BARS folder for the csv builder: write "
                                 "`resctr data prepare csv --schema FILE --manual-dir DIR`, "
                                 "every option in the schema file")  # fmt: skip
            args.name, folder = datasets.prepare_schema(args.schema, **common)
    except ValueError as e:  # DataError and bad options: the message says what to fix
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"prepared {args.name} in {time.perf_counter() - start:.1f}s")
    _show(args, folder)
    return 0


def info(args) -> int:
    try:
        folder = datasets.prepare(args.name, data_dir=args.data_dir, **_options(args.option))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    _show(args, folder)
    return 0


def register(sub) -> None:
    data = sub.add_parser("data", help="prepare and inspect data sets")
    cmds = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p = cmds.add_parser("prepare", help="raw files -> cached arrays (train-only vocabularies)")
    _common(p)
    p.add_argument("--manual-dir", default=None, help="folder holding the raw files")
    p.add_argument("--force", action="store_true", help="prepare again even if cached")
    p.add_argument("--records", action="store_true", help="also write TFDS array_record files")
    p.add_argument(
        "--schema",
        metavar="FILE",
        help="JSON/YAML schema of a BARS folder (with NAME csv): its columns, separators and "
        "lengths, and the name that sweep files and `data info` use",
    )
    p.set_defaults(func=prepare)
    p = cmds.add_parser("info", help="rows, positive rate, vocabularies and OOV rates")
    _common(p)
    p.set_defaults(func=info)
