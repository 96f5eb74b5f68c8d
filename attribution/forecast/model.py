"""Training a deal-probability model, and predicting from its JSON.

Below ``MIN_OUTCOMES`` closed outcomes (or without both wins and losses to learn from) the model
is the transparent fallback: the org's historic win rate for the stage a row has reached. From
there on, a logistic regression (standardised features, one-hot categoricals, class-balanced),
evaluated on a time-ordered holdout (the newest quarter of outcomes), then refitted on them all.

``predict`` needs only the params dict and numpy: coefficients, scaler means and scales and the
categories are stored as JSON, never a pickled estimator.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from attribution.forecast.features import (
    BOOLEAN,
    CATEGORICAL,
    NUMERIC,
    STAGES,
    FeatureRow,
    Outcome,
    stage_of,
)
from attribution.forecast.metrics import auc, brier, calibration

__all__ = [
    "HOLDOUT_SHARE",
    "MIN_OUTCOMES",
    "Evaluation",
    "Trained",
    "predict",
    "stage_rates",
    "train",
]

MIN_OUTCOMES = 200
HOLDOUT_SHARE = 0.25
# A stage with fewer closed outcomes than this borrows the org's overall rate: a rate over three
# deals says more about those three deals than about the stage.
MIN_STAGE_OUTCOMES = 10
# A category seen fewer times than this in training shares the reference level with unseen ones.
MIN_CATEGORY_ROWS = 5
# Skewed counts and amounts are log-scaled before standardising.
LOG_SCALED = frozenset({"touches", "days_since_first_touch", "deal_value"})


@dataclass(frozen=True)
class Evaluation:
    n_train: int = 0
    n_holdout: int = 0
    auc: float | None = None
    brier: float | None = None
    calibration: list[dict] = field(default_factory=list)
    baseline_auc: float | None = None
    baseline_brier: float | None = None


@dataclass(frozen=True)
class Trained:
    kind: str  # "logistic" | "fallback"
    params: dict
    evaluation: Evaluation
    reason: str
    n_outcomes: int
    n_won: int


# --- the fallback: win rate per stage -------------------------------------------------------------


def _rate(won: int, n: int) -> float | None:
    return won / n if n else None


def stage_rates(outcomes: Sequence[Outcome]) -> dict:
    """Per stage, the share won among closed outcomes that reached at least that stage (a lead
    at a stage may still go further, so the ones that did count too)."""
    rank = {stage: index for index, stage in enumerate(STAGES)}
    reached = [rank[stage_of(o.features)] for o in outcomes]
    n_won = sum(bool(o.won) for o in outcomes)
    overall = {"n": len(outcomes), "won": n_won, "rate": _rate(n_won, len(outcomes))}
    stages = {}
    for stage in STAGES:
        rows = [o for o, r in zip(outcomes, reached, strict=True) if r >= rank[stage]]
        won = sum(bool(o.won) for o in rows)
        borrowed = len(rows) < MIN_STAGE_OUTCOMES
        stages[stage] = {
            "n": len(rows),
            "won": won,
            "rate": overall["rate"] if borrowed else _rate(won, len(rows)),
            "borrowed": borrowed,
        }
    return {"kind": "fallback", "overall": overall, "stages": stages}


def _predict_fallback(params: Mapping, rows: Sequence[FeatureRow]) -> np.ndarray:
    stages = params["stages"]
    return np.array(
        [np.nan if (rate := stages[stage_of(r)]["rate"]) is None else rate for r in rows],
        dtype=float,
    )


# --- the logistic regression ----------------------------------------------------------------------


def _raw(row: FeatureRow, name: str) -> float | None:
    value = getattr(row, name)
    if value is None:
        return None
    value = float(value)
    return math.log1p(max(value, 0.0)) if name in LOG_SCALED else value


def _spec(rows: Sequence[FeatureRow]) -> tuple[dict, dict[str, str]]:
    """Which features this org actually has, with the scaling and categories learnt from
    ``rows``; and why each other feature was left out."""
    numeric, categorical, dropped = [], [], {}
    for name in NUMERIC + BOOLEAN:
        values = np.array([v for r in rows if (v := _raw(r, name)) is not None], dtype=float)
        if len(values) == 0:
            dropped[name] = "never recorded"
            continue
        impute = float(values.mean())
        # Missing values take the mean, so they weigh nothing once standardised.
        filled = np.array([impute if (v := _raw(r, name)) is None else v for r in rows])
        scale = float(filled.std())
        if scale < 1e-9:
            dropped[name] = "the same for every outcome"
            continue
        numeric.append(
            {"name": name, "impute": impute, "mean": float(filled.mean()), "scale": scale}
        )
    for name in CATEGORICAL:
        counts = Counter(getattr(r, name) or "" for r in rows)
        kept = sorted(value for value, n in counts.items() if n >= MIN_CATEGORY_ROWS)
        if len(counts) < 2:
            dropped[name] = "the same for every outcome"
        elif not kept:
            dropped[name] = f"no value on {MIN_CATEGORY_ROWS} or more outcomes"
        else:
            categorical.append({"name": name, "categories": kept})
    return {"numeric": numeric, "categorical": categorical}, dropped


def _design(spec: Mapping, rows: Sequence[FeatureRow]) -> np.ndarray:
    columns = []
    for column in spec["numeric"]:
        name, impute = column["name"], column["impute"]
        values = np.array(
            [impute if (v := _raw(r, name)) is None else v for r in rows], dtype=float
        )
        columns.append(((values - column["mean"]) / column["scale"])[:, None])
    for column in spec["categorical"]:
        index = {value: i for i, value in enumerate(column["categories"])}
        block = np.zeros((len(rows), len(index)))
        for i, r in enumerate(rows):
            j = index.get(getattr(r, column["name"]) or "")
            if j is not None:
                block[i, j] = 1.0  # unseen and rare values are the all-zero reference
        columns.append(block)
    if not columns:
        return np.zeros((len(rows), 0))
    return np.hstack(columns)


def _fit(outcomes: Sequence[Outcome]) -> tuple[dict, dict[str, str]]:
    from sklearn.linear_model import LogisticRegression

    rows = [o.features for o in outcomes]
    y = np.array([o.won for o in outcomes], dtype=int)
    spec, dropped = _spec(rows)
    x = _design(spec, rows)
    if x.shape[1] == 0:
        raise _NothingToLearn("no feature varies across the outcomes")
    estimator = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
    estimator.fit(x, y)
    coef = estimator.coef_[0]
    # Balanced weights fit the odds of a 50/50 world; shifting the intercept by the real log
    # odds puts probabilities back on the org's own base rate (ranking, hence AUC, unchanged).
    share = float(y.mean())
    offset = math.log(share / (1.0 - share))
    position = 0
    numeric = []
    for column in spec["numeric"]:
        numeric.append({**column, "coef": float(coef[position])})
        position += 1
    categorical = []
    for column in spec["categorical"]:
        width = len(column["categories"])
        categorical.append(
            {**column, "coefs": [float(c) for c in coef[position : position + width]]}
        )
        position += width
    params = {
        "kind": "logistic",
        "intercept": float(estimator.intercept_[0]) + offset,
        "balanced_intercept": float(estimator.intercept_[0]),
        "prior_offset": offset,
        "numeric": numeric,
        "categorical": categorical,
    }
    return params, dropped


class _NothingToLearn(Exception):
    pass


def _predict_logistic(params: Mapping, rows: Sequence[FeatureRow]) -> np.ndarray:
    x = _design(params, rows)
    weights = [c["coef"] for c in params["numeric"]]
    for column in params["categorical"]:
        weights += column["coefs"]
    logit = params["intercept"] + x @ np.asarray(weights, dtype=float)
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -500, 500)))


def predict(params: Mapping, rows: Sequence[FeatureRow]) -> np.ndarray:
    """Probabilities in [0, 1] (NaN where a fallback has no outcome at all to go on)."""
    if not rows:
        return np.zeros(0)
    if params["kind"] == "logistic":
        return _predict_logistic(params, rows)
    return _predict_fallback(params, rows)


# --- training and evaluation ----------------------------------------------------------------------


def _split(outcomes: Sequence[Outcome]) -> tuple[list[Outcome], list[Outcome]]:
    ordered = sorted(outcomes, key=lambda o: o.settled_at)
    n_holdout = round(len(ordered) * HOLDOUT_SHARE)
    if len(ordered) < 4 or n_holdout == 0:
        return ordered, []
    return ordered[:-n_holdout], ordered[-n_holdout:]


def _evaluate(train_part, holdout, p: np.ndarray | None) -> Evaluation:
    if not holdout:
        return Evaluation(n_train=len(train_part))
    y = [o.won for o in holdout]
    rows = [o.features for o in holdout]
    base = _predict_fallback(stage_rates(train_part), rows)
    if p is None:
        p = base
    # The stage rates of a training part with no outcome at all cannot score anything.
    ok = ~np.isnan(p)
    if not ok.all():
        return Evaluation(n_train=len(train_part), n_holdout=len(holdout))
    y_ok = [bool(v) for v in y]
    return Evaluation(
        n_train=len(train_part),
        n_holdout=len(holdout),
        auc=auc(y_ok, p),
        brier=brier(y_ok, p),
        calibration=calibration(y_ok, p),
        baseline_auc=auc(y_ok, base),
        baseline_brier=brier(y_ok, base),
    )


def train(outcomes: Sequence[Outcome], *, min_outcomes: int = MIN_OUTCOMES) -> Trained:
    n_won = sum(bool(o.won) for o in outcomes)
    n = len(outcomes)
    train_part, holdout = _split(outcomes)
    reason = ""
    if n < min_outcomes:
        reason = f"{n} closed outcome{'s' if n != 1 else ''}: the model needs {min_outcomes}."
    elif n_won == 0 or n_won == n:
        reason = f"all {n} closed outcomes were {'won' if n_won else 'lost'}: nothing to learn."
    elif not any(o.won for o in train_part) or all(o.won for o in train_part):
        reason = "the older outcomes held for training are all won or all lost."
    if not reason:
        try:
            holdout_params, _ = _fit(train_part)
            p = predict(holdout_params, [o.features for o in holdout]) if holdout else None
            evaluation = _evaluate(train_part, holdout, p)
            params, dropped = _fit(outcomes)
        except _NothingToLearn as exc:
            reason = f"{exc}: nothing to learn."
        else:
            params["stages"] = stage_rates(outcomes)["stages"]
            params["dropped"] = dropped
            return Trained(
                kind="logistic",
                params=params,
                evaluation=evaluation,
                reason=f"{n} closed outcomes (at least {min_outcomes}): logistic regression.",
                n_outcomes=n,
                n_won=n_won,
            )
    return Trained(
        kind="fallback",
        params=stage_rates(outcomes),
        evaluation=_evaluate(train_part, holdout, None),
        reason=reason + " Each row gets the org's historic win rate for its stage.",
        n_outcomes=n,
        n_won=n_won,
    )
