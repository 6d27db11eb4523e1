"""Interchangeable residual-branch blocks f."""

from resnets.blocks.mlp import MLP

__all__ = ["MLP"]
