"""Multi-touch attribution weights (first, last, linear, time-decay, position)."""

from attribution.touch.weights import (
    DEFAULT_HALF_LIFE,
    MODELS,
    Model,
    allocate,
    attribution_weights,
)

__all__ = ["DEFAULT_HALF_LIFE", "MODELS", "Model", "allocate", "attribution_weights"]
