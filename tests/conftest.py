"""Test-wide settings: CPU, strict rank promotion, a handle on ../shared/data that may be absent."""

import os
import pathlib

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
# Tests check numbers, not speed: most XLA optimisations off cuts CPU compile time.
jax.config.update("jax_disable_most_optimizations", True)

SHARED_DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> pathlib.Path:
    """../shared/data, or skip: the research data never lives in this repository."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA
