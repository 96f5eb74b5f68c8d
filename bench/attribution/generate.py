"""Seeded synthetic journeys shaped like a high-ticket funnel's: a dozen channels of very
different reach, one to eight touches (most journeys short), about 3 % converting, and channels
that really differ in how much they help (so the data-driven models have something to find).

    from bench.attribution.generate import journeys
    journeys(200_000, seed=7)
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from attribution.touch.journeys import Journey, Touch

CHANNELS = (
    "meta", "google", "youtube", "direct", "tiktok", "linkedin", "email", "podcast",
    "referral", "organic", "twitter", "partner", "webinar", "affiliate", "sms", "display",
    "reddit", "pinterest", "events", "seo",
)  # fmt: skip
START = datetime(2026, 1, 1, tzinfo=UTC)
PERIOD_DAYS = 120


def journeys(count: int = 200_000, *, seed: int = 7, channels: int = 12) -> list[Journey]:
    if not 1 <= channels <= len(CHANNELS):
        raise ValueError(f"channels must be 1..{len(CHANNELS)}")
    rng = random.Random(seed)
    names = CHANNELS[:channels]
    reach = [1 / (rank + 1) ** 1.1 for rank in range(channels)]  # Zipf-like: meta >> affiliate
    lift = [rng.uniform(0.4, 2.2) for _ in names]  # how much a touch of each channel helps
    campaigns = {c: [f"{c}-{k}" for k in range(rng.randint(2, 5))] for c in names}
    lengths = [1, 2, 3, 4, 5, 6, 7, 8]
    length_weights = [30, 24, 16, 11, 8, 5, 4, 2]
    base = 0.018
    out = []
    for number in range(count):
        n = rng.choices(lengths, length_weights)[0]
        picked = rng.choices(range(channels), reach, k=n)
        first = START + timedelta(seconds=rng.uniform(0, PERIOD_DAYS * 86400))
        at = first
        touches = []
        for position, index in enumerate(picked):
            if position:
                at += timedelta(hours=rng.expovariate(1 / 60))
            channel = names[index]
            milestone = None
            if position == 0:
                milestone = "lead"
            elif position == n - 2 and n >= 3:
                milestone = "triage"
            elif position == n - 1 and n >= 2:
                milestone = "solution"
            touches.append(
                Touch(
                    at=at,
                    channel=channel,
                    campaign=rng.choice(campaigns[channel]),
                    kind="booking" if milestone in ("triage", "solution") else "form",
                    milestone=milestone,
                )
            )
        odds = base * (1 + 0.35 * (n - 1)) * (sum(lift[i] for i in set(picked)) / len(set(picked)))
        if rng.random() < odds:
            converted_at = at + timedelta(hours=rng.expovariate(1 / 48))
            value = Decimal(rng.choice((1500, 3000, 5000, 8000, 12000))) - Decimal(
                rng.choice((0, 0, 0, 0, 250))
            )
            out.append(Journey(f"c{number}", tuple(touches), converted_at, value))
        else:
            out.append(Journey(f"c{number}", tuple(touches), None))
    return out
