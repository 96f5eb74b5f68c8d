"""Calendly webhook bodies shaped like the provider's documentation, parsed by the real parser."""

from datetime import UTC, datetime, timedelta

from attribution.sources.calendly import InviteeEvent, parse_webhook

BASE = "https://api.calendly.com"
START = datetime(2026, 3, 3, 16, 0, tzinfo=UTC)


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def invitee_event(
    kind: str = "invitee.created",
    *,
    invitee: str = "IN1",
    event: str = "SE1",
    name: str = "Strategy Session",
    host_email: str = "host@org-a.example",
    start: datetime = START,
    at: datetime | None = None,
    old_invitee: str | None = None,
    new_invitee: str | None = None,
    rescheduled: bool = False,
    canceler_type: str = "invitee",
    status: str | None = None,
    tracking: dict | None = None,
    questions: list | None = None,
    no_show_at: datetime | None = None,
) -> InviteeEvent:
    at = at or start - timedelta(days=2)
    canceled = kind == "invitee.canceled"
    payload = {
        "uri": f"{BASE}/scheduled_events/{event}/invitees/{invitee}",
        "email": "lead@example.com",
        "name": "Lena Lead",
        "status": status or ("canceled" if canceled else "active"),
        "created_at": iso(start - timedelta(days=3)),
        "updated_at": iso(at),
        "rescheduled": rescheduled,
        "old_invitee": f"{BASE}/scheduled_events/SEold/invitees/{old_invitee}"
        if old_invitee
        else None,
        "new_invitee": f"{BASE}/scheduled_events/SEnew/invitees/{new_invitee}"
        if new_invitee
        else None,
        "cancellation": {"canceled_by": "Someone", "canceler_type": canceler_type, "reason": "x"}
        if canceled
        else None,
        "tracking": tracking or {"utm_source": "youtube", "utm_campaign": "vsl"},
        "questions_and_answers": questions or [],
        "no_show": {"uri": f"{BASE}/invitee_no_shows/NS1", "created_at": iso(no_show_at)}
        if no_show_at
        else None,
        "scheduled_event": {
            "uri": f"{BASE}/scheduled_events/{event}",
            "name": name,
            "event_type": f"{BASE}/event_types/ET1",
            "status": "canceled" if canceled else "active",
            "start_time": iso(start),
            "end_time": iso(start + timedelta(minutes=45)),
            "event_memberships": [{"user": f"{BASE}/users/U1", "user_email": host_email}],
        },
    }
    return parse_webhook({"event": kind, "created_at": iso(at), "payload": payload})


def uri(invitee: str, event: str = "SE1") -> str:
    return f"{BASE}/scheduled_events/{event}/invitees/{invitee}"
