"""ReLU information loss: Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", Fig. 1.

A 2-D spiral x is embedded in R^n by a random Gaussian T (n x 2), passed through ReLU and
projected back with the pseudo-inverse T+ (T+ T = I for n >= 2). Three forms:

    plain     x_hat = T+ ReLU(T x)          (paper's Fig. 1: lossy for small n)
    residual  z     = x + T+ ReLU(T x)      (a residual path around the ReLU block)
    linear    x_hat = T+ T x = x            (linear bottleneck: exact for every n >= 2)

The residual form is always invertible: with M = (T^T T)^-1 and the convex psi(x) =
||ReLU(T x)||^2 / 2, T+ ReLU(T x) = M grad psi(x), so z = x + M grad psi(x) is strongly monotone in
the M^-1 inner product (<z_a - z_b, x_a - x_b>_{M^-1} >= ||x_a - x_b||^2_{M^-1}) and hence
injective; its Lipschitz inverse contracts Euclidean distances by at most cond(T). Its
"reconstruction" is therefore the exact inverse x = F^-1(z), solved per point by iterating on the
ReLU activation pattern D: x <- (I + T+ D T)^-1 z until D = [T x > 0] is self-consistent.

Metrics, each a mean over points then mean +- std over random T:
  * recon_error: mean ||x_hat - x||^2 / mean ||x||^2 (residual: x_hat = F^-1(z)).
  * collapse_fraction: fraction of points i with some j != i where the outputs coincide at 1%
    resolution, ||out_i - out_j|| < EPS * s, while the inputs are clearly apart,
    ||x_i - x_j|| > DISTINCT * s (s = RMS ||x||, EPS = 0.01, DISTINCT = 0.1): pairs that the map
    shrank at least tenfold to below the resolution. A distance-preserving map scores exactly 0.
  * readout_error: relative squared error of the best affine read-out of x from the form's
    2-D output (least squares); 0 whenever the output is an affine image of x.
  * identity_distance (residual only): mean ||z - x||^2 / mean ||x||^2.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

NS = (2, 3, 5, 15, 30)
FORMS = ("plain", "residual", "linear")
EPS, DISTINCT = 0.01, 0.1


def spiral(num_points: int, turns: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Archimedean spiral r = theta / theta_max around the origin; returns (x_Nx2, theta_N)."""
    theta_N = np.linspace(0.5, 2 * np.pi * turns, num_points)
    r_N = theta_N / theta_N[-1]
    return np.stack([r_N * np.cos(theta_N), r_N * np.sin(theta_N)], axis=1), theta_N


def forward(form: str, x_Nx2: np.ndarray, t_Kxnx2: np.ndarray) -> np.ndarray:
    """The form's 2-D output for each of K matrices T: (K, N, 2)."""
    pinv_Kx2xn = np.linalg.pinv(t_Kxnx2)
    h_KxNxn = np.einsum("knd,pd->kpn", t_Kxnx2, x_Nx2)
    if form == "linear":
        return np.einsum("kdn,kpn->kpd", pinv_Kx2xn, h_KxNxn)
    back_KxNx2 = np.einsum("kdn,kpn->kpd", pinv_Kx2xn, np.maximum(h_KxNxn, 0.0))
    if form == "plain":
        return back_KxNx2
    if form == "residual":
        return x_Nx2 + back_KxNx2
    raise ValueError(f"unknown form {form!r}; choose from {FORMS}")


def invert_residual(z_Nx2: np.ndarray, t_nx2: np.ndarray, max_iter: int = 50) -> np.ndarray:
    """x with x + T+ ReLU(T x) = z, by iterating on the activation pattern (see docstring)."""
    pinv_2xn = np.linalg.pinv(t_nx2)
    x_Nx2 = z_Nx2
    for _ in range(max_iter):
        active_Nxn = x_Nx2 @ t_nx2.T > 0
        a_Nx2x2 = np.eye(2) + np.einsum("dj,pj,je->pde", pinv_2xn, active_Nxn, t_nx2)
        x_Nx2 = np.linalg.solve(a_Nx2x2, z_Nx2[..., None])[..., 0]
        if np.array_equal(x_Nx2 @ t_nx2.T > 0, active_Nxn):
            break
    return x_Nx2


def relative_error(x_hat: np.ndarray, x_Nx2: np.ndarray) -> np.ndarray:
    """mean ||x_hat - x||^2 / mean ||x||^2 over the point axis (-2); batched over leading axes."""
    return ((x_hat - x_Nx2) ** 2).sum(-1).mean(-1) / (x_Nx2**2).sum(-1).mean()


def collapse_fraction(x_Nx2: np.ndarray, out_NxD: np.ndarray) -> float:
    """Fraction of points whose output lies within EPS*s of an input-distinct point's output."""
    s = np.sqrt((x_Nx2**2).sum(-1).mean())
    # Only output-close pairs can collapse: a k-d tree finds them without the N x N matrix.
    i_P, j_P = cKDTree(out_NxD).query_pairs(EPS * s, output_type="ndarray").T
    far_P = np.linalg.norm(x_Nx2[i_P] - x_Nx2[j_P], axis=-1) > DISTINCT * s
    collapsed_N = np.zeros(len(x_Nx2), dtype=bool)
    collapsed_N[i_P[far_P]] = collapsed_N[j_P[far_P]] = True
    return float(collapsed_N.mean())


def readout_error(out_NxD: np.ndarray, x_Nx2: np.ndarray) -> float:
    """Relative error of the least-squares affine read-out x ~ [out, 1] W."""
    feats = np.concatenate([out_NxD, np.ones((len(out_NxD), 1))], axis=1)
    w, *_ = np.linalg.lstsq(feats, x_Nx2, rcond=None)
    return float(relative_error(feats @ w, x_Nx2))


def random_projections(rng: np.random.Generator, n: int, trials: int) -> np.ndarray:
    return rng.standard_normal((trials, n, 2))


def measure(
    ns=NS, trials: int = 100, seed: int = 0, num_points: int = 600
) -> list[dict[str, object]]:
    """Rows {form, n, metric, mean, std, median, trials}; the same `trials` random T per form."""
    x_Nx2, _ = spiral(num_points)
    rng = np.random.default_rng(seed)
    rows = []
    for n in ns:
        t_Kxnx2 = random_projections(rng, n, trials)
        for form in FORMS:
            out_KxNx2 = forward(form, x_Nx2, t_Kxnx2)
            per_trial = {
                "collapse_fraction": [collapse_fraction(x_Nx2, o) for o in out_KxNx2],
                "readout_error": [readout_error(o, x_Nx2) for o in out_KxNx2],
            }
            if form == "residual":
                x_hat = np.stack(
                    [invert_residual(o, t) for o, t in zip(out_KxNx2, t_Kxnx2, strict=True)]
                )
                per_trial["recon_error"] = relative_error(x_hat, x_Nx2)
                per_trial["identity_distance"] = relative_error(out_KxNx2, x_Nx2)
            else:
                per_trial["recon_error"] = relative_error(out_KxNx2, x_Nx2)
            for metric, values in sorted(per_trial.items()):
                values = np.asarray(values, dtype=np.float64)
                stats = dict(mean=values.mean(), std=values.std(), median=np.median(values))
                rows.append(dict(form=form, n=int(n), metric=metric, trials=int(trials)))
                rows[-1].update({k: float(v) for k, v in stats.items()})
    return rows


def plot_spiral(form: str = "plain", ns=NS, seed: int = 0, num_points: int = 600):
    """The paper's Fig. 1 layout: the input spiral, then the output for each n, in one row."""
    import matplotlib.pyplot as plt

    x_Nx2, theta_N = spiral(num_points)
    rng = np.random.default_rng(seed)
    panels = [("Input", x_Nx2)]
    panels += [
        (f"Output/dim={n}", forward(form, x_Nx2, random_projections(rng, n, 1))[0]) for n in ns
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 2.4))
    for ax, (title, pts) in zip(axes, panels, strict=True):
        ax.scatter(pts[:, 0], pts[:, 1], c=theta_N, cmap="viridis", s=3, linewidths=0)
        ax.set_title(title, fontsize=9)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{form}: {FORM_LABELS[form]}", fontsize=10)
    fig.tight_layout()
    return fig


FORM_LABELS = {
    "plain": "T+ ReLU(T x)",
    "residual": "x + T+ ReLU(T x)",
    "linear": "T+ T x (no ReLU)",
}


def plot_curves(rows: list[dict[str, object]]):
    """Metrics versus n, mean +- std over random T, one line per form."""
    import matplotlib.pyplot as plt

    metrics = ("recon_error", "collapse_fraction", "readout_error")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.0 * len(metrics), 3.2))
    for ax, metric in zip(axes, metrics, strict=True):
        for form in FORMS:
            sel = [r for r in rows if r["form"] == form and r["metric"] == metric]
            n = [r["n"] for r in sel]
            ax.errorbar(n, [r["mean"] for r in sel], yerr=[r["std"] for r in sel],
                        marker="o", capsize=3, label=FORM_LABELS[form])  # fmt: skip
        ax.set_xscale("log")
        ax.set_xticks(list(NS), [str(n) for n in NS], minor=False)
        ax.set_xticks([], minor=True)
        if metric == "recon_error":  # square Gaussian T is often ill-conditioned: heavy tail
            ax.set_yscale("symlog", linthresh=0.01)
        ax.set_ylim(bottom=0.0)  # all metrics are >= 0; a std bar must not suggest otherwise
        ax.set_xlabel("n (embedding dimension)")
        ax.set_title(metric)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def run(out_dir, *, trials: int = 100, seed: int = 0, num_points: int = 600) -> list[dict]:
    """Measure, then write relu_metrics.{csv,json} and the three PNGs into out_dir."""
    import json
    import pathlib

    import matplotlib

    matplotlib.use("Agg")
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = measure(NS, trials=trials, seed=seed, num_points=num_points)
    columns = ("form", "n", "metric", "mean", "std", "median", "trials")
    lines = [",".join(columns)] + [",".join(str(r[c]) for c in columns) for r in rows]
    (out / "relu_metrics.csv").write_text("\n".join(lines) + "\n")
    settings = dict(ns=list(NS), trials=trials, seed=seed, num_points=num_points, eps=EPS,
                    distinct=DISTINCT)  # fmt: skip
    (out / "relu_metrics.json").write_text(json.dumps(dict(settings=settings, rows=rows), indent=1))
    figures = {
        f"relu_spiral_{f}.png": plot_spiral(f, seed=seed, num_points=num_points)
        for f in ("plain", "residual")
    }
    figures["relu_curves.png"] = plot_curves(rows)
    for name, fig in figures.items():
        fig.savefig(out / name, dpi=120)
        matplotlib.pyplot.close(fig)
    return rows
