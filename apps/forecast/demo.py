"""The demo org's deal probability: a few open deals (offers still being thought over) so the
lists and the weighted pipeline have something to show, then the first model version (the
stage fallback: a demo of a few hundred people has fewer than 200 closed outcomes)."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from apps.deals.models import Deal
from apps.forecast.models import ForecastModel
from apps.forecast.services import forecast_train
from apps.meetings.models import CallType, PostCallForm

OPEN_VALUES = (3000, 5000, 8000, 12000)


def seed_forecast_demo(org, *, seed: int = 11) -> ForecastModel:
    rng = random.Random(seed)
    offers = (
        PostCallForm.objects.for_org(org)
        .filter(offer_made=True, deal_closed=False, meeting__call_type=CallType.SOLUTION)
        .exclude(meeting__contact=None)
        .select_related("meeting")
        .order_by("-meeting__scheduled_at")
    )
    recent = [p for p in offers if p.meeting.scheduled_at >= timezone.now() - timedelta(days=45)]
    for pcf in recent or list(offers[:1]):
        meeting = pcf.meeting
        Deal.objects.create(
            org=org, contact_id=meeting.contact_id, provider="manual", status=Deal.Status.ACTIVE,
            status_label="Thinking it over", value=Decimal(rng.choice(OPEN_VALUES)),
            currency=org.currency, closer=meeting.closer, setter=meeting.setter,
            meeting=meeting, pcf=pcf, confidence=rng.choice([30, 50, 70]),
        )  # fmt: skip
    return forecast_train(org=org)
