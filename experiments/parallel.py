"""Data parallelism over one host's devices with JAX's own engine (GSPMD on a 1-D Mesh).

The batch is sharded along the mesh axis "data", parameters and optimizer state are replicated
(XLA inserts the gradient all-reduce), and with `shard_embeddings` every embedding table (and
its Adam moments) is split along the vocabulary axis instead. The data split itself is
replicated, so each device gathers its rows locally. The mesh uses Auto axes: Explicit axes
(jax.make_mesh's default in jax 0.10) reject the embedding gather.
"""

from __future__ import annotations

import warnings

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from ctr.layers.embedding import is_embedding_path, path_keys


class DataParallel:
    def __init__(self, shard_embeddings: bool = False, devices=None):
        self.mesh = Mesh(np.array(devices or jax.local_devices()), ("data",))
        self.shard_embeddings = shard_embeddings
        self.size = self.mesh.size

    def __call__(self, tree, kind: str):
        """Places a host tree: "data" splits replicated, "state" (N-stacked) as described."""
        if kind == "data":
            return jax.device_put(tree, NamedSharding(self.mesh, P()))
        return jax.tree_util.tree_map_with_path(self._place_state, tree)

    def _place_state(self, path, leaf):
        keys = path_keys(path)
        spec = P()
        if self.shard_embeddings and np.ndim(leaf) == 3 and is_embedding_path(keys):
            if leaf.shape[1] % self.size == 0:
                spec = P(None, "data", None)  # (seeds, vocab, dim): split the vocabulary
            else:
                warnings.warn(
                    f"{'/'.join(keys)}: vocabulary {leaf.shape[1]} is not divisible by "
                    f"{self.size} devices; keeping this table replicated",
                    stacklevel=2,
                )
        return jax.device_put(leaf, NamedSharding(self.mesh, spec))

    def constrain(self, batch: dict) -> dict:
        """Inside the jitted step: every batch column sharded along its rows."""
        sharding = NamedSharding(self.mesh, P("data"))
        return {k: jax.lax.with_sharding_constraint(v, sharding) for k, v in batch.items()}
