"""Builders for KPI tests: rows made through the models, dated in the org's time zone."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from apps.kpis.selectors import month_bounds
from apps.kpis.services import rollup_rebuild
from tests.factories import (
    ContactFactory,
    DealFactory,
    MeetingFactory,
    PaymentFactory,
    PostCallFormFactory,
)


def past_month(months_back: int = 2) -> tuple[date, date]:
    """A whole month safely in the past, so every call in it is due."""
    day = timezone.localdate().replace(day=1)
    for _ in range(months_back):
        day = month_bounds(day - timedelta(days=1))[0]
    return month_bounds(day)


def at(org, day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=org.tzinfo)


def lead(org, day: date, **kwargs):
    kwargs.setdefault("original_source", "facebook")
    kwargs.setdefault("original_campaign", "webinar")
    return ContactFactory(org=org, first_seen_at=at(org, day, 9), **kwargs)


def call(org, contact, day: date, call_type: str, *, showed=True, canceled=False, **kwargs):
    status = "canceled" if canceled else ("completed" if showed else "no_show")
    offer = kwargs.pop("offer", False)
    meeting = MeetingFactory(
        org=org,
        contact=contact,
        call_type=call_type,
        scheduled_at=kwargs.pop("scheduled_at", at(org, day, 10 if call_type == "triage" else 15)),
        status=status,
        canceled_at=at(org, day, 8) if canceled else None,
        showed=showed and not canceled,
        **kwargs,
    )
    if not canceled:
        PostCallFormFactory(meeting=meeting, lead_showed=showed, offer_made=offer)
    return meeting


def won(org, contact, day: date, value, **kwargs):
    return DealFactory(
        org=org,
        contact=contact,
        status="won",
        value=Decimal(value),
        currency=org.currency,
        closed_at=at(org, day, 16),
        **kwargs,
    )


def paid(org, contact, day: date, amount, **kwargs):
    return PaymentFactory(
        org=org,
        contact=contact,
        amount=Decimal(amount),
        currency=org.currency,
        paid_at=at(org, day, 17),
        **kwargs,
    )


def refresh(org):
    rollup_rebuild(org=org)
