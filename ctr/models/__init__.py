"""CTR backbones. Each model is a linen module built as

    Model(spec=FeatureSpec, connection=ConnectionFactory, embedding_dim=10, **its own options)

and called as `model.apply(variables, batch, train=bool) -> logits (B,)` (no sigmoid inside).
"""

from ctr.models.compat import INCOMPATIBLE, check_compatible

MODELS: dict[str, type] = {
    # -- runner models (issue 5) --
    # -- feature-interaction models (issue 6) --
}

__all__ = ["INCOMPATIBLE", "MODELS", "check_compatible"]
