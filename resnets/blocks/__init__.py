"""Interchangeable residual-branch blocks f."""

from resnets.blocks.dice import Dice
from resnets.blocks.mlp import MLP
from resnets.blocks.mlr import MLR
from resnets.blocks.polynomial import Polynomial
from resnets.blocks.product import Product
from resnets.blocks.recurrent import GRU, LSTM
from resnets.blocks.sequence import SequenceResidual
from resnets.blocks.transformer import TransformerBlock

__all__ = [
    "GRU",
    "LSTM",
    "MLP",
    "MLR",
    "Dice",
    "Polynomial",
    "Product",
    "SequenceResidual",
    "TransformerBlock",
]
