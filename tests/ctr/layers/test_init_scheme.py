"""Init schemes: "flax" is model.init itself; "fuxictr" draws every Dense kernel, DCN's cross
vector and CIN's W as PyTorch's xavier_normal_ of FuxiCTR's Linear / Conv1d (variance
2 / (fan_in + fan_out), untruncated) and FinalMLP's W_xy as FuxiCTR does, and leaves everything
else (biases, BatchNorm, embeddings) as model.init drew it."""

import jax
import numpy as np
import pytest
from flax import traverse_util

import resnets
from ctr.features import FeatureSpec, Field
from ctr.layers.init_scheme import init_with_scheme
from ctr.models.dcn import DCN
from ctr.models.dcnv2 import DCNv2
from ctr.models.deepfm import DeepFM
from ctr.models.finalmlp import FinalMLP
from ctr.models.xdeepfm import XDeepFM

# Frappe's shape: 10 categorical fields, embedding 10 -> a tower input of width 100.
SPEC = FeatureSpec(
    fields=tuple(Field(name=f"f{i}", kind="categorical", vocab_size=50) for i in range(10))
)
BATCH = {f"f{i}": np.arange(4, dtype=np.int32) for i in range(10)} | {
    "mask": np.ones(4, np.float32)
}
NONE = resnets.get("none")


def flat_params(model, scheme, seed=0):
    variables = init_with_scheme(model, scheme, jax.random.PRNGKey(seed), BATCH, train=False)
    return {"/".join(k): np.asarray(v) for k, v in traverse_util.flatten_dict(variables).items()}


def assert_variance(w, var, what):
    """Sample variance within 5 standard errors of `var` (normal: SE = var sqrt(2/(n-1)))."""
    n = w.size
    se = var * np.sqrt(2 / (n - 1))
    assert abs(w.var() - var) < 5 * se, f"{what}: var {w.var():.3g}, formula {var:.3g}"
    assert abs(w.mean()) < 5 * np.sqrt(var / n), f"{what}: mean {w.mean():.3g}"


def test_flax_scheme_is_model_init():
    model = DeepFM(SPEC, NONE, hidden=(16,), batch_norm=True)
    got = init_with_scheme(model, "flax", jax.random.PRNGKey(3), BATCH, train=False)
    want = model.init(jax.random.PRNGKey(3), BATCH, train=False)
    jax.tree.map(np.testing.assert_array_equal, got, want)


@pytest.mark.parametrize(
    "model",
    [
        DeepFM(SPEC, NONE, hidden=(400, 400, 400), dropout=0.2, batch_norm=True),
        DCNv2(SPEC, NONE, hidden=(400, 400, 400)),
        DCN(SPEC, NONE, hidden=(400,)),
        XDeepFM(SPEC, NONE, cin_units=(64, 64), hidden=(400,)),
    ],
    ids=["deepfm", "dcnv2", "dcn", "xdeepfm"],
)
def test_fuxictr_scheme_draws_linear_and_conv_kernels_xavier_normal(model):
    flax_p, fux_p = flat_params(model, "flax"), flat_params(model, "fuxictr")
    kernels = [k for k in fux_p if k.endswith("/kernel")]
    assert len(kernels) >= 3  # tower layers and output, cross layers, CIN layers
    for k in kernels:
        *fan_in, fan_out = fux_p[k].shape  # CIN's (fields, maps, units): Conv1d(f * h, units)
        var = 2 / (np.prod(fan_in) + fan_out)
        assert_variance(fux_p[k], var, k)
        if fux_p[k].size > 10_000:  # untruncated: a truncated normal never passes 2 sigma
            assert np.abs(fux_p[k]).max() > 3 * np.sqrt(var), k
    for k in flax_p.keys() - set(kernels):  # biases, BN, embeddings: model.init's own draw
        np.testing.assert_array_equal(fux_p[k], flax_p[k], err_msg=k)
    # the redraw depends on the seed
    other = flat_params(model, "fuxictr", seed=1)
    assert not np.array_equal(other[kernels[0]], fux_p[kernels[0]])


def test_fuxictr_scheme_draws_finalmlp_bilinear_weight_as_fuxictr():
    """FuxiCTR's InteractionAggregation: xavier_normal_ of a (heads * a/h * b/h, 1) matrix."""
    model = FinalMLP(SPEC, NONE, mlp1_hidden=(400,), mlp2_hidden=(100,), num_heads=5)
    w = flat_params(model, "fuxictr")["params/fusion/w_xy"]
    assert w.shape == (5, 80, 20)
    assert_variance(w, 2 / (1 + 400 * 100 / 5), "w_xy")


def test_unknown_scheme_names_the_choices():
    with pytest.raises(ValueError, match="'torch'.*fuxictr"):
        init_with_scheme(DeepFM(SPEC, NONE), "torch", jax.random.PRNGKey(0), BATCH)
