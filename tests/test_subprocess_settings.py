"""A process started by a test compiles like the test process: same JAX settings, same numbers.

Tests that compare a subprocess's results with the test process's exactly (kill and resume, data
parallel, `--jobs`) rely on this; without it they pass or fail by luck of the CPU.
"""

import json
import subprocess
import sys

PROBE = """
import json, jax, jax.numpy as jnp, numpy as np
x = jnp.asarray(np.random.default_rng(0).normal(size=(64, 64)), jnp.float32)
y = jax.jit(lambda x: jnp.tanh(x @ x.T).sum(0) / 3.0)(x)
keys = ("jax_disable_most_optimizations", "jax_numpy_rank_promotion", "jax_platforms")
print(json.dumps({"settings": [jax.config.values[k] for k in keys], "y": np.asarray(y).tolist()}))
"""


def test_a_subprocess_has_the_test_processs_jax_settings_and_numbers():
    child = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    )
    scope: dict = {}
    exec(PROBE.replace("print(", "result = ("), scope)
    here = json.loads(scope["result"])
    assert here["settings"][:2] == [True, "raise"]
    assert json.loads(child.stdout.strip().splitlines()[-1]) == here
