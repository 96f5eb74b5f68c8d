"""Weighing: one record against its candidates, with the pure matcher's decisions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from apps.contacts.resolution.candidates import Slot
from attribution.identity.match import Decision, Outcome, RecordKeys, decide


@dataclass
class Weighed:
    """The candidates that match (best first: highest score, then the oldest contact) and
    those an admin should look at."""

    matches: list[tuple[Decision, Slot]] = field(default_factory=list)
    review: list[tuple[Decision, Slot]] = field(default_factory=list)


def weigh(keys: RecordKeys, candidates: Iterable[Slot], *, shared: frozenset[str]) -> Weighed:
    weighed = Weighed()
    for slot in candidates:
        decision = decide(keys, slot.profile, shared=shared)
        if decision.outcome is Outcome.MATCH:
            weighed.matches.append((decision, slot))
        elif decision.outcome is Outcome.REVIEW:
            weighed.review.append((decision, slot))
    weighed.matches.sort(key=lambda m: (-m[0].score, m[1].pk or 0))
    return weighed
