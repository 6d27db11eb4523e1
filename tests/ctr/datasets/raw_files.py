"""Small raw files in every supported format, generated into a test's tmp_path."""

import gzip
import pathlib

import numpy as np


def write(path: pathlib.Path, text: str) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


def bars_folder(root: pathlib.Path, *, test=True, gz=False, rows=40, seed=0) -> pathlib.Path:
    """label,user,item,city,price,hist: two categorical, one numeric, one '^' sequence column."""
    rng = np.random.default_rng(seed)
    header = "label,user,item,city,price,hist\n"
    for split in ("train", "valid", "test")[: 3 if test else 2]:
        lines = [
            f"{rng.integers(2)},u{rng.integers(5)},i{rng.integers(8)},c{rng.integers(3)},"
            f"{rng.random():.3f},{'^'.join(f'i{k}' for k in rng.integers(8, size=rng.integers(4)))}"
            for _ in range(rows)
        ]
        name = f"{split}.csv.gz" if gz and split == "train" else f"{split}.csv"
        write(root / name, header + "\n".join(lines) + "\n")
    return root


def criteo_raw(root: pathlib.Path, rows=60, seed=0, name="train.txt", label=True) -> pathlib.Path:
    """Kaggle TSV; label=False writes Kaggle's unlabeled test.txt layout (no label column)."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(rows):
        ints = [("" if rng.random() < 0.2 else str(rng.integers(-1, 400))) for _ in range(13)]
        cats = [("" if rng.random() < 0.1 else f"{rng.integers(6):08x}") for _ in range(26)]
        lines.append("\t".join([str(rng.integers(2))] * label + [*ints, *cats]))
    return write(root / name, "\n".join(lines) + "\n")


AVAZU_HEADER = (
    "id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,"
    "app_category,device_id,device_ip,device_model,device_type,device_conn_type,"
    "C14,C15,C16,C17,C18,C19,C20,C21"
)


def avazu_raw(root: pathlib.Path, rows=50, seed=0) -> pathlib.Path:
    rng = np.random.default_rng(seed)
    lines = [
        ",".join(
            [
                str(rng.integers(10**9)),
                str(rng.integers(2)),
                f"1410{21 + rng.integers(3)}{i % 24:02d}",
            ]
            + [f"v{rng.integers(4)}" for _ in range(21)]
        )
        for i in range(rows)
    ]
    return write(root / "train", AVAZU_HEADER + "\n" + "\n".join(lines) + "\n")


def amazon_file(root: pathlib.Path, users=30, items=40, seed=0) -> pathlib.Path:
    rng = np.random.default_rng(seed)
    lines = [
        " ".join(map(str, [u + 1, *rng.choice(np.arange(1, items + 1), rng.integers(3, 9), False)]))
        for u in range(users)
    ]
    return write(root / "Toy.txt", "\n".join(lines) + "\n")
