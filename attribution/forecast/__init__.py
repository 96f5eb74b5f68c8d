"""Deal probability (ATTRIBUTION.md "Deal probability"): feature rows, a per-org logistic
regression with its holdout figures, the stage win-rate fallback, and prediction from the
model's JSON with numpy alone (no scikit-learn object is ever stored)."""
