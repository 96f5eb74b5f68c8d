"""Attribution: journeys (journeys.py), every model (models.py), paths, budget advice; weights.py
keeps the original touch-weight helpers (first, last, linear, time_decay, position)."""

from attribution.touch.weights import (
    DEFAULT_HALF_LIFE,
    MODELS,
    Model,
    allocate,
    attribution_weights,
)

__all__ = ["DEFAULT_HALF_LIFE", "MODELS", "Model", "allocate", "attribution_weights"]
