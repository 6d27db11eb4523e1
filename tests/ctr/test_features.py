"""FeatureSpec: options that would be silently ignored are rejected; saved specs round-trip."""

import json

import pytest

from ctr.features import FeatureSpec, Field

FIELDS = (Field(name="user", kind="categorical", vocab_size=5), Field(name="w", kind="numeric"))


def test_weight_field_is_rejected_not_ignored():
    with pytest.raises(ValueError, match=r"weight_field='w'.*not supported.*leave it unset"):
        FeatureSpec(fields=FIELDS, weight_field="w")


def test_spec_json_round_trips_with_the_null_weight_field_key():
    spec = FeatureSpec(fields=FIELDS, user_field="user")
    saved = json.loads(json.dumps(spec.to_json()))  # what store.py writes as spec.json
    assert saved["weight_field"] is None
    assert FeatureSpec.from_json(saved) == spec
    with pytest.raises(ValueError, match="weight_field"):
        FeatureSpec.from_json({**saved, "weight_field": "w"})
