"""Test-wide settings: CPU, strict rank promotion, a handle on ../shared/data that may be absent.

The JAX settings are environment variables, set before jax is imported, so that every process a
test starts inherits them: a subprocess compiled with other XLA flags than the test process
gives other floating-point results, and an exact comparison between the two would pass or fail
by luck of the CPU.
"""

import os
import pathlib

TEST_JAX_ENV = {
    "JAX_PLATFORMS": "cpu",  # a default: a GPU user may run the suite there on purpose
    "JAX_NUMPY_RANK_PROMOTION": "raise",
    # Tests check numbers, not speed: most XLA optimisations off cuts CPU compile time.
    "JAX_DISABLE_MOST_OPTIMIZATIONS": "true",
}
os.environ.setdefault("JAX_PLATFORMS", TEST_JAX_ENV.pop("JAX_PLATFORMS"))
os.environ.update(TEST_JAX_ENV)

import jax  # noqa: E402
import pytest  # noqa: E402

SHARED_DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> pathlib.Path:
    """../shared/data, or skip: the research data never lives in this repository."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


def pytest_report_header(config):
    return f"jax {jax.__version__}, " + ", ".join(
        f"{k}={os.environ[k]}" for k in (*TEST_JAX_ENV, "JAX_PLATFORMS")
    )
