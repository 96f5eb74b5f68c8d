"""What the model knows about one lead in the pipeline, and the stage it has reached.

A row is either an open or closed deal, or a lead with a solution call and no deal. The stage is
the furthest funnel milestone the row has reached; the fallback's win rate is read per stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "BOOLEAN",
    "CATEGORICAL",
    "NUMERIC",
    "STAGES",
    "STAGE_LABELS",
    "FeatureRow",
    "Outcome",
    "stage_of",
]

# Lowest first. A deal with no call known is the least advanced; an offer made the most.
STAGES = ("deal_open", "solution_booked", "solution_attended", "offer_made")
STAGE_LABELS = {
    "deal_open": "Open deal, no solution call known",
    "solution_booked": "Solution call booked",
    "solution_attended": "Solution call attended",
    "offer_made": "Offer made (PCF)",
}

CATEGORICAL = ("channel", "campaign", "closer")
BOOLEAN = ("triage_attended", "solution_attended", "offer_made")
NUMERIC = ("touches", "days_since_first_touch", "deal_value", "crm_confidence")


@dataclass(frozen=True)
class FeatureRow:
    channel: str = ""
    campaign: str = ""
    touches: int = 0
    days_since_first_touch: float | None = None
    triage_attended: bool = False
    solution_booked: bool = False
    solution_attended: bool = False
    offer_made: bool = False
    deal_value: float | None = None  # None: a lead with a call and no deal yet
    crm_confidence: float | None = None  # the CRM's own 0-100 estimate, when it has one
    closer: str = ""  # an id: categories are compared, never shown

    @property
    def stage(self) -> str:
        return stage_of(self)


def stage_of(row: FeatureRow) -> str:
    if row.offer_made:
        return "offer_made"
    if row.solution_attended:
        return "solution_attended"
    if row.solution_booked:
        return "solution_booked"
    return "deal_open"


@dataclass(frozen=True)
class Outcome:
    """A closed outcome: the features, whether it was won within 90 days, and when that was
    settled (the holdout is the newest outcomes)."""

    features: FeatureRow
    won: bool
    settled_at: datetime
