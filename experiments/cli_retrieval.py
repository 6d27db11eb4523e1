"""`resctr retrieval`: next-item retrieval on leave-last-out sequences, ranked over all items.

resctr retrieval --data Beauty --model youtube_dnn [--model sasrec ...] --seeds 0,1,2
                 --manual-dir DIR [--workdir runs/retrieval] [--max-epochs N] [--patience N]
Each (data, model, seed) is a run folder WORKDIR/DATA-MODEL-seedS (experiments/retrieval.py);
a rerun skips finished runs and resumes unfinished ones. Prints valid/test HR and NDCG
(mean ± std over seeds) with the user's history excluded from the ranking, as ICLRec does.
"""

from __future__ import annotations

import argparse
import pathlib

# short names of the ICLRec / S3-Rec files; any other NAME reads MANUAL_DIR/NAME.txt
DATA_FILES = {
    "Beauty": "Beauty.txt",
    "Sports": "Sports_and_Outdoors.txt",
    "Toys": "Toys_and_Games.txt",
}


def register(sub) -> None:
    p = sub.add_parser("retrieval", help="next-item retrieval (HR/NDCG over all items)")
    p.add_argument(
        "--data",
        required=True,
        action="append",
        help=f"{', '.join(DATA_FILES)} or NAME for MANUAL_DIR/NAME.txt; repeatable",
    )
    p.add_argument(
        "--model",
        required=True,
        action="append",
        help="popularity, youtube_dnn, sasrec or gru4rec; repeatable",
    )
    p.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2")
    p.add_argument(
        "--manual-dir",
        required=True,
        help="folder of ICLRec-format files (`user item item ...` per line)",
    )
    p.add_argument("--workdir", default="runs/retrieval", help="run folders go here")
    p.add_argument("--max-len", type=int, default=50, help="history length kept (ICLRec: 50)")
    p.add_argument("--max-epochs", type=int, default=50)
    p.add_argument(
        "--patience",
        type=int,
        default=5,
        help="stop after this many epochs without a better valid NDCG@20",
    )
    p.set_defaults(func=cmd_retrieval)  # fmt: skip


def data_path(name: str, manual_dir: pathlib.Path) -> pathlib.Path:
    path = manual_dir / DATA_FILES.get(name, f"{name}.txt")
    if not path.is_file():
        present = sorted(p.stem for p in manual_dir.glob("*.txt"))
        raise SystemExit(
            f"--data {name}: {path} does not exist; choose from {list(DATA_FILES)} or a NAME "
            f"with NAME.txt in --manual-dir ({manual_dir} holds {present or 'no .txt files'})"
        )
    return path


def seeds(text: str) -> list[int]:
    try:
        out = [int(s) for s in text.split(",")]
    except ValueError:
        raise SystemExit(
            f"--seeds {text!r}: expected comma-separated integers, e.g. 0,1,2"
        ) from None
    if len(set(out)) != len(out):
        raise SystemExit(f"--seeds {text!r}: a seed is repeated")
    return out


def cmd_retrieval(args: argparse.Namespace) -> int:
    from experiments import retrieval_models

    unknown = [m for m in args.model if m not in retrieval_models.MODELS]
    if unknown:
        raise SystemExit(f"--model {unknown}: choose from {list(retrieval_models.MODELS)}")
    manual_dir = pathlib.Path(args.manual_dir)
    if not manual_dir.is_dir():
        raise SystemExit(f"--manual-dir {manual_dir}: not a folder")
    paths = {name: data_path(name, manual_dir) for name in args.data}
    run_seeds = seeds(args.seeds)

    import numpy as np

    from experiments import retrieval, retrieval_data

    for name, path in paths.items():
        data = retrieval_data.load(path, args.max_len)
        print(f"{name}: {data.info}")
        for model in args.model:
            results = []
            for seed in run_seeds:
                cfg = retrieval.RetrievalConfig(
                    data=name, model=model, seed=seed, max_len=args.max_len,
                    max_epochs=args.max_epochs, patience=args.patience,
                )  # fmt: skip
                results.append(retrieval.run(cfg, data, pathlib.Path(args.workdir)))
            for r in results:
                if r["status"] != "ok":
                    print(f"{r['run_id']}: {r['status']} in epoch {r['diverged_epoch']}")
            results = [r for r in results if r["test"] is not None]
            for split in ("valid", "test") if results else ():
                cells = []
                for key in ("HR@5", "HR@10", "HR@20", "NDCG@5", "NDCG@10", "NDCG@20"):
                    v = np.asarray([r[split][key] for r in results])
                    std = v.std(ddof=1) if len(v) > 1 else float("nan")  # as `resctr table`
                    cells.append(f"{key} {v.mean():.4f}±{std:.4f}")
                print(f"{name} {model:12} {split:5} " + "  ".join(cells))
    return 0
