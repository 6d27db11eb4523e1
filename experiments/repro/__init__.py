"""Reproductions of the classic motivating plots: ReLU information loss (MobileNetV2, Fig. 1)
and, from trained towers, per-layer dead-ReLU fraction and effective rank."""
