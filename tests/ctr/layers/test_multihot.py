"""Multihot fields (a bag of ids per row, e.g. a movie's genres): embedded as the mean of the
bag's rows with padding left out (FuxiCTR's MaskedAveragePooling), one field among the others."""

import jax
import numpy as np

from ctr.features import FeatureSpec, Field
from ctr.layers.embedding import FeatureEmbedding

BAG_SPEC = FeatureSpec(
    fields=(
        Field(name="a", kind="categorical", vocab_size=5),
        Field(name="g", kind="multihot", vocab_size=6, max_len=3),
    )
)
BAGS = np.array([[2, 3, 0], [4, 0, 0], [0, 0, 0], [5, 5, 2]], np.int32)


def _embed():
    layer = FeatureEmbedding(BAG_SPEC, dim=4)
    batch = {"a": np.array([1, 2, 3, 4], np.int32), "g": BAGS}
    params = layer.init(jax.random.PRNGKey(0), batch)
    return layer, params, batch


def test_a_bag_is_the_mean_of_its_rows_without_padding():
    layer, params, batch = _embed()
    emb_BxFxD = layer.apply(params, batch)
    table = np.asarray(params["params"]["table_g"])
    expected = [table[[2, 3]].mean(0), table[4], np.zeros(4), table[[5, 5, 2]].mean(0)]
    assert emb_BxFxD.shape == (4, 2, 4)
    np.testing.assert_allclose(emb_BxFxD[:, 1], np.stack(expected), rtol=1e-6)
    np.testing.assert_allclose(emb_BxFxD[:, 0], np.asarray(params["params"]["table_a"])[1:])


def test_each_id_gets_its_share_of_the_gradient_and_padding_none():
    layer, params, batch = _embed()
    grads = jax.grad(lambda p: layer.apply(p, batch)[:, 1].sum())(params)["params"]["table_g"]
    # d(sum of bag means)/d row j = sum over bags of (count of j in the bag) / (bag size)
    share = {0: 0.0, 1: 0.0, 2: 1 / 2 + 1 / 3, 3: 1 / 2, 4: 1.0, 5: 2 / 3}
    np.testing.assert_allclose(grads[:, 0], [share[j] for j in range(6)], rtol=1e-6)
