"""CTR backbones. Each model is a linen module built as

    Model(spec=FeatureSpec, connection=ConnectionFactory, embedding_dim=10, **its own options)

and called as `model.apply(variables, batch, train=bool) -> logits (B,)` (no sigmoid inside).
"""

from ctr.models.afm import AFM
from ctr.models.autoint import AutoInt, AutoIntPlus
from ctr.models.bst import BST  # behaviour-sequence models (issue 7)
from ctr.models.compat import RESIDUAL_SLOTS, check_compatible, compatible, incompatible_pairs
from ctr.models.dcn import DCN  # feature-interaction models (issue 6)
from ctr.models.dcnv2 import DCNv2
from ctr.models.deep_crossing import DeepCrossing
from ctr.models.deepfm import DeepFM  # runner models (issue 5)
from ctr.models.dien import DIEN
from ctr.models.din import DIN
from ctr.models.dnn import DNN
from ctr.models.dsin import DSIN
from ctr.models.ffm import FFM
from ctr.models.fibinet import FiBiNET
from ctr.models.finalmlp import FinalMLP
from ctr.models.fm import FM
from ctr.models.fwfm import FwFM
from ctr.models.gbdt_lr import GBDTLR  # issue 10
from ctr.models.lr import LR
from ctr.models.mlr import MLR
from ctr.models.neuralcf import NeuralCF
from ctr.models.nfm import NFM
from ctr.models.pnn import OPNN, PNN
from ctr.models.seq_encoder import BiLSTMEncoder, GRU4Rec, LSTMEncoder, TransformerEncoder
from ctr.models.wide_deep import WideDeep
from ctr.models.xdeepfm import XDeepFM
from ctr.models.youtube_dnn import YouTubeDNN

MODELS: dict[str, type] = {
    # -- runner models (issue 5) --
    "lr": LR,
    "fm": FM,
    "dnn": DNN,
    "deepfm": DeepFM,
    # -- feature-interaction models (issue 6) --
    "wide_deep": WideDeep,
    "dcn": DCN,
    "dcnv2": DCNv2,
    "xdeepfm": XDeepFM,
    "nfm": NFM,
    "ipnn": PNN,
    "opnn": OPNN,
    "ffm": FFM,
    "fwfm": FwFM,
    "afm": AFM,
    "mlr": MLR,
    "neuralcf": NeuralCF,
    "deep_crossing": DeepCrossing,
    "autoint": AutoInt,
    "autoint_plus": AutoIntPlus,
    "fibinet": FiBiNET,
    "finalmlp": FinalMLP,
    # -- behaviour-sequence models (issue 7) --
    "din": DIN,
    "dien": DIEN,
    "dsin": DSIN,
    "bst": BST,
    "gru4rec": GRU4Rec,
    "lstm": LSTMEncoder,
    "bilstm": BiLSTMEncoder,
    "transformer_enc": TransformerEncoder,
    "youtube_dnn": YouTubeDNN,
    # -- issue 10 --
    "gbdt_lr": GBDTLR,
}
INCOMPATIBLE = incompatible_pairs()  # after MODELS: the table reads the models' option defaults

__all__ = ["INCOMPATIBLE", "MODELS", "RESIDUAL_SLOTS", "check_compatible", "compatible"]
