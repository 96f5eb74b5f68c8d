"""Builders for attribution tests: touches and conversions dated in the org's time zone."""

from datetime import date, timedelta

from apps.marketing.services import journeys_rebuild
from tests.apps.kpis.helpers import at, paid, past_month, won
from tests.factories import ContactFactory, TouchpointFactory

__all__ = ["at", "journey", "paid", "past_month", "rebuild", "touch", "won"]


def touch(org, contact, day: date, source: str, campaign: str = "", hour: int = 9, **kwargs):
    return TouchpointFactory(
        org=org,
        contact=contact,
        occurred_at=at(org, day, hour),
        utm_source=source,
        utm_campaign=campaign,
        kind=kwargs.pop("kind", "form"),
        **kwargs,
    )


def journey(org, day: date, sources: list[tuple[str, str]], *, value=None, cash=None, **kw):
    """A contact touched once a day by ``sources`` ending on ``day`` (the conversion day: the
    last touch at 09:00, the deal at 16:00 and the payment at 17:00 that day)."""
    contact = ContactFactory(org=org, first_seen_at=at(org, day - timedelta(days=len(sources))))
    for i, (source, campaign) in enumerate(sources):
        touch(org, contact, day - timedelta(days=len(sources) - 1 - i), source, campaign)
    if value is not None:
        won(org, contact, day, value)
    if cash is not None:
        paid(org, contact, day, cash)
    return contact


def rebuild(org):
    journeys_rebuild(org=org)
