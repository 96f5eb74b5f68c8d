"""Holdout figures: AUC, Brier score and calibration by decile, over plain sequences."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["auc", "auc_standard_error", "brier", "calibration", "clearly_better"]


def auc(won: Sequence[bool], p: Sequence[float]) -> float | None:
    """The chance a random win is scored above a random loss (ties count half); None without
    both a win and a loss, where it has no meaning."""
    y = np.asarray(won, dtype=bool)
    scores = np.asarray(p, dtype=float)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    # Average rank of each distinct score, 1-based: ties share the middle of their ranks.
    average = np.cumsum(counts) - (counts - 1) / 2.0
    ranks = average[inverse]
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def brier(won: Sequence[bool], p: Sequence[float]) -> float | None:
    if len(won) == 0:
        return None
    y = np.asarray(won, dtype=float)
    return float(np.mean((np.asarray(p, dtype=float) - y) ** 2))


def calibration(won: Sequence[bool], p: Sequence[float], bins: int = 10) -> list[dict]:
    """Rows sorted by predicted probability, cut into ``bins`` groups of (nearly) equal size:
    per group the count, the mean prediction and the share actually won. Every row is in
    exactly one group; fewer rows than bins give one group per row."""
    y = np.asarray(won, dtype=float)
    scores = np.asarray(p, dtype=float)
    if len(y) == 0:
        return []
    order = np.argsort(scores, kind="stable")
    out = []
    for index, part in enumerate(np.array_split(order, min(bins, len(y))), start=1):
        low, high = float(scores[part].min()), float(scores[part].max())
        # The float mean of equal values can land one ulp outside them: kept within the bin.
        predicted = min(max(float(scores[part].mean()), low), high)
        out.append(
            {
                "decile": index,
                "n": len(part),
                "predicted": predicted,
                "observed": float(y[part].mean()),
                "low": low,
                "high": high,
            }
        )
    return out


def auc_standard_error(auc_value: float, n_pos: int, n_neg: int) -> float:
    """Hanley and McNeil's (1982) standard error of an AUC over n_pos wins and n_neg losses."""
    a = auc_value
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    variance = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (
        n_pos * n_neg
    )
    return float(np.sqrt(max(variance, 0.0)))


def clearly_better(
    auc_value: float | None, baseline: float | None, calibration_bins: list[dict]
) -> bool:
    """Whether a model's holdout AUC beats the baseline's by more than two standard errors:
    a gap inside the noise of a small or signal-free holdout is no gap. The win and loss
    counts come from the calibration table (every holdout row is in one bin)."""
    if auc_value is None or baseline is None:
        return False
    n = sum(b["n"] for b in calibration_bins)
    n_pos = round(sum(b["observed"] * b["n"] for b in calibration_bins))
    if n_pos == 0 or n_pos == n:
        return False
    return auc_value - baseline > 2 * auc_standard_error(auc_value, n_pos, n - n_pos)
