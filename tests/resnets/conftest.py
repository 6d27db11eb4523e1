"""Fixtures for the resnets tests."""

import jax
import pytest
from resnets_helpers import BATCH, WIDTH


@pytest.fixture
def x_BxD() -> jax.Array:
    return jax.random.normal(jax.random.key(1), (BATCH, WIDTH))
