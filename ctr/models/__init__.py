"""CTR backbones. Each model is a linen module built as

    Model(spec=FeatureSpec, connection=ConnectionFactory, embedding_dim=10, **its own options)

and called as `model.apply(variables, batch, train=bool) -> logits (B,)` (no sigmoid inside).
"""

from ctr.models.compat import INCOMPATIBLE, check_compatible
from ctr.models.deepfm import DeepFM  # runner models (issue 5)
from ctr.models.dnn import DNN
from ctr.models.fm import FM
from ctr.models.lr import LR

MODELS: dict[str, type] = {
    # -- runner models (issue 5) --
    "lr": LR,
    "fm": FM,
    "dnn": DNN,
    "deepfm": DeepFM,
    # -- feature-interaction models (issue 6) --
}

__all__ = ["INCOMPATIBLE", "MODELS", "check_compatible"]
