"""Built-in shortcut and wide+deep slots: `none` reproduces the published sum."""

import jax
import numpy as np
import pytest

import resnets
from ctr.layers.slots import Combine
from ctr.models import INCOMPATIBLE, RESIDUAL_SLOTS, check_compatible, compatible
from resnets import slot_factory

WIDE = np.array([0.5, -1.0, 2.0], np.float32)
DEEP = np.array([1.5, 0.25, -3.0], np.float32)


def test_slot_factory_maps_none_to_identity_only_with_builtin_shortcut():
    none = resnets.get("none")
    assert slot_factory(none, builtin_shortcut=True).family == "identity"
    assert slot_factory(none, builtin_shortcut=False).family == "none"
    assert slot_factory(resnets.get("concat"), fixed_width=True).options == {"project": True}


def test_combine_none_is_the_published_sum():
    m = Combine(resnets.get("none"))
    out, variables = m.init_with_output(jax.random.key(0), WIDE, DEEP)
    np.testing.assert_array_equal(out, WIDE + DEEP)
    assert not variables


def test_combine_scaled_learns_the_mix():
    m = Combine(resnets.get("scaled", beta_init=0.5, w="scalar", w_init=2.0))
    out, _ = m.init_with_output(jax.random.key(0), WIDE, DEEP)
    np.testing.assert_allclose(out, 0.5 * DEEP + 2.0 * WIDE, rtol=1e-6)


def test_combine_sum_pins_the_published_sum_for_any_family():
    m = Combine(resnets.get("scaled", beta_init=0.5, w="scalar", w_init=2.0), "sum")
    out, variables = m.init_with_output(jax.random.key(0), WIDE, DEEP)
    np.testing.assert_array_equal(out, WIDE + DEEP)
    assert not variables


def test_combine_rejects_an_unknown_mode_on_construction():
    with pytest.raises(ValueError, match=r"combine='mean'; choose from \('connection', 'sum'\)"):
        Combine(resnets.get("scaled"), "mean")


def test_dag_keeps_the_published_slot():
    dag = resnets.get("dag")
    assert slot_factory(dag, builtin_shortcut=True).family == "identity"
    assert slot_factory(dag, fixed_width=True).family == "none"
    assert slot_factory(dag, mlp_tower=True).family == "dag"


def test_a_family_that_cannot_merge_one_wide_states_keeps_the_published_sum():
    """residual's LayerNorm of one feature is a constant: the sum stays, and models whose only
    slot is that sum are incompatible (they would train `none`)."""
    m = Combine(resnets.get("residual"))
    out, variables = m.init_with_output(jax.random.key(0), WIDE, DEEP)
    np.testing.assert_array_equal(out, WIDE + DEEP)
    assert not variables
    residual = resnets.get("residual")
    assert slot_factory(residual, builtin_shortcut=True, width=1).family == "identity"
    assert slot_factory(residual, builtin_shortcut=True, width=2).family == "residual"
    only_sum = {m for m, slots in RESIDUAL_SLOTS.items() if slots == ("combine",)}
    assert only_sum == {"afm", "ffm", "fwfm"}
    no_slot = {m for m, slots in RESIDUAL_SLOTS.items() if not slots}
    assert {m for m, f in INCOMPATIBLE if f == "residual"} == only_sum | no_slot


def test_a_fused_family_is_refused_where_the_towers_default_to_a_learned_activation():
    """dag's neuron graph has no Dice/PReLU (per-layer statistics): the models whose activation
    options default to one are read off the model classes, and their dag pairs refused."""
    fused = [f for f, cls in resnets.CONNECTIONS.items() if cls.fused]
    learned = {m for m, f in INCOMPATIBLE if f in fused and "learned" in INCOMPATIBLE[m, f]}
    assert learned == {"din", "dien", "dsin"}
    assert "activation='dice'" in INCOMPATIBLE["din", "dag"]
    with pytest.raises(ValueError, match="dsin.*dag.*learned one by default"):
        check_compatible("dsin", "dag")
    assert compatible("dnn", "dag") and compatible("bst", "dag")
