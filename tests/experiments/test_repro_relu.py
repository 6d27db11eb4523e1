"""ReLU information loss (MobileNetV2 Fig. 1) and tower activation statistics: numerical oracles."""

import json

import numpy as np
import pytest

from experiments.repro import relu, towers


@pytest.fixture(scope="module")
def rows():
    return relu.measure((2, 30), trials=12, seed=0, num_points=200)


def _get(rows, form, n, metric):
    (row,) = [r for r in rows if (r["form"], r["n"], r["metric"]) == (form, n, metric)]
    return row


def test_forward_matches_per_point_formula():
    rng = np.random.default_rng(1)
    x, _ = relu.spiral(50)
    t = rng.standard_normal((2, 5, 2))
    pinv = np.linalg.pinv(t[1])
    for i in (0, 17, 49):
        back = pinv @ np.maximum(t[1] @ x[i], 0)
        np.testing.assert_allclose(relu.forward("plain", x, t)[1, i], back, atol=1e-12)
        np.testing.assert_allclose(relu.forward("residual", x, t)[1, i], x[i] + back, atol=1e-12)
        np.testing.assert_allclose(relu.forward("linear", x, t)[1, i], x[i], atol=1e-12)
    with pytest.raises(ValueError, match="unknown form"):
        relu.forward("gelu", x, t)


def test_relu_identity_on_data_back_projects_exactly():
    # Positive T on a positive-quadrant input: ReLU(Tx) = Tx, so T+ ReLU(Tx) = x exactly.
    rng = np.random.default_rng(2)
    x = rng.uniform(0.1, 1.0, size=(100, 2))
    t = np.abs(rng.standard_normal((3, 7, 2)))
    np.testing.assert_allclose(relu.forward("plain", x, t), np.broadcast_to(x, (3, 100, 2)))
    np.testing.assert_allclose(relu.forward("residual", x, t), np.broadcast_to(2 * x, (3, 100, 2)))
    assert relu.collapse_fraction(x, relu.forward("plain", x, t)[0]) == 0.0


def test_residual_is_strongly_monotone_and_inverted_exactly():
    # Docstring claim: <F(a)-F(b), a-b>_{M^-1} >= ||a-b||^2_{M^-1}, M^-1 = T^T T.
    rng = np.random.default_rng(3)
    for n in (2, 3, 15):
        t = rng.standard_normal((1, n, 2))
        a, b = rng.standard_normal((2, 500, 2))
        fa, fb = relu.forward("residual", a, t)[0], relu.forward("residual", b, t)[0]
        m_inv = t[0].T @ t[0]
        lhs = np.einsum("pi,ij,pj->p", fa - fb, m_inv, a - b)
        rhs = np.einsum("pi,ij,pj->p", a - b, m_inv, a - b)
        assert np.all(lhs >= rhs - 1e-9)
        np.testing.assert_allclose(relu.invert_residual(fa, t[0]), a, atol=1e-9)


def test_collapse_fraction_crafted_and_brute_force():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    out = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 0.0], [5.0, 0.001]])  # pairs (0,1), (2,3)
    assert relu.collapse_fraction(x, out) == 1.0
    assert relu.collapse_fraction(x, out + [[0, 0], [0, 0], [0, 0], [0, 1]]) == 0.5
    # Against the N x N definition on a real collapsing output.
    xs, _ = relu.spiral(150)
    t = np.random.default_rng(4).standard_normal((1, 3, 2))
    o = relu.forward("plain", xs, t)[0]
    s = np.sqrt((xs**2).sum(-1).mean())
    d_in = np.linalg.norm(xs[:, None] - xs[None], axis=-1)
    d_out = np.linalg.norm(o[:, None] - o[None], axis=-1)
    brute = ((d_out < relu.EPS * s) & (d_in > relu.DISTINCT * s)).any(1).mean()
    assert brute > 0
    assert relu.collapse_fraction(xs, o) == pytest.approx(brute)


def test_readout_error_zero_for_affine_images():
    x, _ = relu.spiral(100)
    assert relu.readout_error(x @ np.array([[2.0, 1.0], [0.5, -1.0]]) + 3.0, x) < 1e-20
    assert relu.readout_error(np.zeros_like(x), x) > 0.1


def test_information_loss_shrinks_with_n_and_vanishes_without_relu(rows):
    err = {n: _get(rows, "plain", n, "recon_error")["median"] for n in (2, 30)}
    assert err[30] < err[2] and err[30] < 0.5  # T+ D T ~ I/2 for large n: x_hat ~ x/2
    readout = {n: _get(rows, "plain", n, "readout_error")["mean"] for n in (2, 30)}
    assert readout[30] < 0.1 < readout[2]
    collapse = {n: _get(rows, "plain", n, "collapse_fraction")["mean"] for n in (2, 30)}
    assert collapse[30] < 0.05 and collapse[2] > 0.2
    for n in (2, 30):
        assert _get(rows, "linear", n, "collapse_fraction")["mean"] == 0.0
        assert _get(rows, "linear", n, "recon_error")["mean"] < 1e-20
        assert _get(rows, "residual", n, "recon_error")["mean"] < 1e-16
        assert _get(rows, "residual", n, "collapse_fraction")["mean"] == 0.0
        assert (
            _get(rows, "residual", n, "readout_error")["mean"]
            < _get(rows, "plain", n, "readout_error")["mean"]
        )


def test_cli_writes_csv_json_and_figures(tmp_path):
    from experiments.cli import main

    assert main(["repro", "relu", "--tiny", "--trials", "2", "--out", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"relu_metrics.csv", "relu_metrics.json", "relu_curves.png"} <= names
    assert {"relu_spiral_plain.png", "relu_spiral_residual.png"} <= names
    header, *lines = (tmp_path / "relu_metrics.csv").read_text().splitlines()
    assert header == "form,n,metric,mean,std,median,trials"
    doc = json.loads((tmp_path / "relu_metrics.json").read_text())
    assert len(doc["rows"]) == len(lines) == 5 * (4 + 3 + 3)
    assert doc["settings"]["trials"] == 2


def test_effective_rank_oracles():
    rng = np.random.default_rng(5)
    q1, _ = np.linalg.qr(rng.standard_normal((200, 200)))
    q2, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    equal_k = q1[:, :4] @ (3.0 * q2[:4])  # four equal singular values
    assert towers.effective_rank(equal_k, center=False) == pytest.approx(4.0)
    rank_k = rng.standard_normal((500, 5)) @ rng.standard_normal((5, 30))
    assert 2.5 < towers.effective_rank(rank_k) <= 5.0 + 1e-9
    assert towers.effective_rank(rng.standard_normal((4000, 20))) > 0.9 * 20
    assert towers.effective_rank(np.ones((10, 3))) == 0.0  # only the mean: no information
    s = np.linalg.svd(rank_k, compute_uv=False)
    p = s / s.sum()
    assert towers.effective_rank(rank_k, center=False) == pytest.approx(
        np.exp(-np.sum(p * np.log(p + 1e-300)))
    )


def test_dead_fraction_exact_on_crafted_matrix():
    a = np.array([[0.0, 1.0, 0.0, 2.0], [0.0, 0.0, -0.0, 3.0], [0.0, 2.0, 0.0, 1.0]])
    (st,) = towers.tower_activation_stats([a])
    assert st["dead_fraction"] == 0.5 and st["zero_fraction"] == 7 / 12
    assert st["width"] == 4 and st["layer"] == 0
    with pytest.raises(ValueError, match="layer 0"):
        towers.tower_activation_stats([np.zeros(3)])


def test_block_activations_of_a_plain_dnn():
    import jax
    import jax.numpy as jnp

    import resnets
    from ctr.features import FeatureSpec, Field
    from ctr.models import DNN

    spec = FeatureSpec(
        fields=(Field(name="a", kind="categorical", vocab_size=7), Field(name="b", kind="numeric"))
    )
    model = DNN(spec=spec, connection=resnets.get("none"), hidden=(8, 6))
    batch = {"a": jnp.arange(16, dtype=jnp.int32) % 7, "b": jnp.linspace(-1, 1, 16)}
    variables = model.init(jax.random.key(0), batch)
    acts = towers.block_activations(model, variables, batch)
    assert list(acts) == ["tower/block_0", "tower/block_1"]
    # Plain tower: block_1 sees block_0's output, so its capture must equal ReLU(h W + b).
    dense = {
        k: np.asarray(v) for k, v in variables["params"]["tower"]["block_1"]["Dense_0"].items()
    }
    expected = np.maximum(acts["tower/block_0"] @ dense["kernel"] + dense["bias"], 0)
    np.testing.assert_allclose(acts["tower/block_1"], expected, rtol=1e-5, atol=1e-6)
    stats = towers.tower_activation_stats(list(acts.values()))
    assert [s["width"] for s in stats] == [8, 6]
