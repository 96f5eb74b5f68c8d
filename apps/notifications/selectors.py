"""Reads behind the notifications: the daily report's figures (the dashboard's own selector and
formatter), which orgs are due for it, reminders, and the ops figures alerts watch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.urls import reverse
from django.utils import timezone

from apps.contacts.models import Provider
from apps.integrations.models import WebhookEvent
from apps.integrations.webhooks import rejected_count
from apps.kpis.selectors import Filters, dashboard_data
from apps.meetings.selectors import pcf_overdue_by_rep
from apps.meetings.services import magic_link_token
from apps.notifications.models import Channel, Delivery, Kind, NotificationSettings, RepSlackUser
from apps.orgs.models import Organization, TeamMember
from attribution.kpis.display import format_number
from attribution.kpis.metrics import METRICS, format_metric, metric_value

# The figures of the daily report, as the dashboard names, computes and formats them.
REPORT_FIGURES = (
    "triage_booked",
    "solution_booked",
    "solution_show_rate",
    "close_rate",
    "deals_won",
    "cash_collected",
    "revenue",
    "pcf_pending",
)


def notification_settings(*, org: Organization) -> NotificationSettings:
    """The org's row, or the defaults (unsaved) when nobody changed them."""
    return NotificationSettings.objects.filter(org=org).first() or NotificationSettings(org=org)


def slack_user_id(*, member: TeamMember) -> str:
    row = RepSlackUser.objects.filter(org_id=member.org_id, team_member=member).first()
    return row.slack_user_id.strip() if row else ""


def site_url(path: str) -> str:
    """An absolute link for a message sent outside any request (beat, workers)."""
    return settings.SITE_URL.rstrip("/") + path


def _top(people: list[dict], metric: str) -> dict | None:
    ranked = [p for p in people if (metric_value(metric, p["base"], p["kpis"]) or 0) > 0]
    return max(
        ranked, key=lambda p: (metric_value(metric, p["base"], p["kpis"]), -p["id"]), default=None
    )


def daily_report_payload(*, org: Organization, day: date) -> dict:
    """The report of one org-local ``day``: the dashboard's data for that day (the same
    selector, filters and formatter), the top closer (cash) and setter (solution calls booked),
    and the overdue PCFs owed right now."""
    data = dashboard_data(org=org, start=day, end=day, filters=Filters())
    base, kpis = data["base"], data["kpis"]

    def figure(name):
        return format_metric(name, metric_value(name, base, kpis), org.currency)

    held = (base.get("triage_attended") or 0) + (base.get("solution_attended") or 0)
    facts = [[METRICS[name].label, figure(name)] for name in REPORT_FIGURES]
    facts.insert(2, ["Calls held", format_number(held)])
    closer = _top(data["closers"], "cash_collected")
    setter = _top(data["setters"], "solution_booked")
    facts.append(
        [
            "Top closer",
            f"{closer['name']} ({format_metric('cash_collected', closer['base']['cash_collected'], org.currency)})"
            if closer
            else "—",
        ]
    )
    facts.append(
        [
            "Top setter",
            f"{setter['name']} ({format_number(setter['base']['solution_booked'])} booked)"
            if setter
            else "—",
        ]
    )
    overdue = sum(len(group.meetings) for group in pcf_overdue_by_rep(org=org))
    facts.append(["Overdue PCFs (now)", format_number(overdue)])
    query = f"?start={day.isoformat()}&end={day.isoformat()}"
    return {
        "org": org.name,
        "day": day.isoformat(),
        "day_label": f"{day:%A %d %B %Y}",
        "timezone": org.timezone,
        "facts": facts,
        "url": site_url(reverse("kpis:dashboard") + query),
    }


def daily_report_due(*, now: datetime | None = None) -> list[tuple[int, date]]:
    """(org id, report day) for every org with a channel subscribed to the daily report whose
    local report time has passed today while a subscribed channel still lacks that report."""
    now = now or timezone.now()
    channels: dict[int, set[str]] = {}
    for channel in Channel.objects.filter(active=True, broken_at__isnull=True).only(
        "pk", "org_id", "kinds"
    ):
        if Kind.DAILY_REPORT in (channel.kinds or []):
            channels.setdefault(channel.org_id, set()).add(f"channel:{channel.pk}")
    if not channels:
        return []
    times = dict(
        NotificationSettings.objects.filter(org_id__in=channels).values_list(
            "org_id", "daily_report_time"
        )
    )
    default_time = NotificationSettings._meta.get_field("daily_report_time").default
    due = []
    for org in Organization.objects.filter(pk__in=channels).order_by("pk"):
        local = timezone.localtime(now, org.tzinfo)
        if local.time() < times.get(org.pk, default_time):
            continue
        day = local.date() - timedelta(days=1)
        done = set(
            Delivery.objects.filter(
                org=org,
                kind=Kind.DAILY_REPORT,
                period=day.isoformat(),
                status__in=(Delivery.Status.SENT, Delivery.Status.FAILED),
            ).values_list("target", flat=True)
        )
        if channels[org.pk] - done:
            due.append((org.pk, day))
    return due


def orgs_watching_ops() -> list[int]:
    """Orgs with a channel subscribed to a webhook alert."""
    kinds = {Kind.WEBHOOK_REJECTIONS, Kind.INBOX_BACKLOG}
    return sorted(
        {
            c.org_id
            for c in Channel.objects.filter(active=True, broken_at__isnull=True).only(
                "org_id", "kinds"
            )
            if kinds & set(c.kinds or [])
        }
    )


def pcf_reminder_payloads(*, org: Organization) -> list[tuple[TeamMember, dict, str]]:
    """(rep, reminder payload, their Slack user id or "") for every rep owing overdue PCFs; the
    links open their forms (signed in, or by magic link for a rep without an account)."""
    tz = org.tzinfo
    out = []
    slack_ids = dict(
        RepSlackUser.objects.for_org(org).values_list("team_member_id", "slack_user_id")
    )
    for group in pcf_overdue_by_rep(org=org):
        member = group.member
        if member is None:
            continue
        token = None if member.user_id else magic_link_token(member=member)

        def form_url(meeting, token=token):
            if token is None:
                return site_url(reverse("meetings:pcf", args=[meeting.pk]))
            return site_url(reverse("rep:magic_pcf", kwargs={"token": token, "pk": meeting.pk}))

        items = [
            [
                f"{timezone.localtime(m.scheduled_at, tz):%a %d %b %H:%M} · {m.contact or 'unknown'}"
                f" ({m.get_call_type_display()})",
                form_url(m),
            ]
            for m in group.meetings
        ]
        home = (
            reverse("rep:portal")
            if token is None
            else reverse("rep:magic_home", kwargs={"token": token})
        )
        payload = {"org": org.name, "member": member.name, "items": items, "url": site_url(home)}
        out.append((member, payload, (slack_ids.get(member.pk) or "").strip()))
    return out


def webhook_rejections_today(*, org: Organization, now: datetime) -> list[tuple[str, int]]:
    # The counter is kept per UTC day (apps.integrations.webhooks).
    day = now.astimezone(UTC).date()
    providers = [p for p in Provider.values if p != Provider.MANUAL]
    return [(p, rejected_count(org=org, provider=p, day=day)) for p in providers]


def inbox_backlog(*, org: Organization, now: datetime) -> tuple[int, float]:
    """(pending webhook events of the org, minutes the oldest has waited)."""
    row = WebhookEvent.objects.filter(org=org, status=WebhookEvent.Status.PENDING).aggregate(
        pending=Count("pk"), oldest=Min("received_at")
    )
    if not row["pending"]:
        return 0, 0.0
    return row["pending"], (now - row["oldest"]).total_seconds() / 60
