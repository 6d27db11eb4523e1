"""A MovieLens-1M-style BARS folder with a planted signal, for the sweep-file tutorial's test.

One row per (user, movie) rating with the user's gender, age and occupation and the movie's
`|`-separated genres; a user clicks (label 1) with probability 0.85 when the movie has the
user's favourite genre, else 0.15, so the genres column carries the signal.

    python tests/experiments/movielens_folder.py DIR   # writes DIR/{train,valid,test}.csv
"""

import csv
import pathlib
import sys

import numpy as np

GENRES = ("Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Drama", "Horror")
HEADER = ("label", "user_id", "movie_id", "gender", "age", "occupation", "genres")


def write_movielens_folder(root, rows: int = 1200, users: int = 40, movies: int = 60, seed=0):
    rng = np.random.default_rng(seed)
    movie_genres = [
        rng.choice(len(GENRES), size=rng.integers(1, 4), replace=False) for _ in range(movies)
    ]
    favourite = rng.integers(len(GENRES), size=users)
    user_cols = np.stack(
        [rng.choice(["F", "M"], users), rng.choice(["1", "18", "25", "35", "45"], users),
         rng.integers(0, 21, users).astype(str)], axis=1
    )  # fmt: skip
    u, m = rng.integers(users, size=rows), rng.integers(movies, size=rows)
    liked = np.array([favourite[a] in movie_genres[b] for a, b in zip(u, m, strict=True)])
    label = (rng.random(rows) < np.where(liked, 0.85, 0.15)).astype(int)
    lines = [
        (label[i], f"u{u[i]}", f"m{m[i]}", *user_cols[u[i]],
         "|".join(GENRES[g] for g in movie_genres[m[i]]))
        for i in range(rows)
    ]  # fmt: skip
    root = pathlib.Path(root)
    root.mkdir(parents=True, exist_ok=True)
    cut = [int(rows * 0.7), int(rows * 0.85)]
    for split, part in zip(("train", "valid", "test"), np.split(np.arange(rows), cut), strict=True):
        with open(root / f"{split}.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(HEADER)
            writer.writerows(lines[i] for i in part)
    return root


if __name__ == "__main__":
    print(write_movielens_folder(sys.argv[1]))
