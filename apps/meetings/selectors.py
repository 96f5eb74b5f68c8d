from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField as BooleanValue
from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from apps.meetings.models import CallType, Meeting
from apps.meetings.services import ENDED_STATUSES, owed_by, pcf_overdue_cutoff
from apps.orgs.access import get_object_for_member, is_rep, rep_team_member
from apps.orgs.calendar import month_bounds, org_period_bounds, org_today
from apps.orgs.models import Membership, Organization, TeamMember


def meeting_list_for_member(*, membership: Membership) -> QuerySet[Meeting]:
    """The org's calls; a closer or setter sees only calls they host, close or set."""
    qs = Meeting.objects.for_org(membership.org)
    if is_rep(membership):
        member = rep_team_member(membership)
        if member is None:
            return qs.none()
        qs = qs.filter(Q(closer=member) | Q(setter=member) | Q(host=member))
    return qs


def get_meeting_for_member(request, pk) -> Meeting:
    return get_object_for_member(
        meeting_list_for_member(membership=request.membership).select_related(
            "contact", "closer", "setter", "host"
        ),
        pk,
    )


def pcf_is_theirs(*, meeting: Meeting, member: TeamMember) -> bool:
    """Whether this rep writes the call's PCF: the closer of a solution call, the setter of a
    triage call, the host of any other call.

    A setter credited on a solution call sees that call, but its cash, contract and deal are the
    closer's to report; a closer likewise does not report a setter's triage call.
    """
    if meeting.call_type == CallType.SOLUTION:
        author_id = meeting.closer_id
    elif meeting.call_type == CallType.TRIAGE:
        author_id = meeting.setter_id
    else:
        author_id = meeting.host_id
    return author_id is not None and author_id == member.pk


def pcf_writable_by_member(*, membership: Membership, meeting: Meeting) -> bool:
    """Managers and above write every call's PCF, viewers none, a rep only their own."""
    if membership.can_manage:
        return True
    if not is_rep(membership):
        return False
    member = rep_team_member(membership)
    return member is not None and pcf_is_theirs(meeting=meeting, member=member)


def get_meeting_for_pcf(request, pk) -> Meeting:
    """A call whose PCF the signed-in member may open and save: 404 when they cannot see the
    call at all, 403 when they see it but the form is someone else's."""
    meeting = get_meeting_for_member(request, pk)
    if not pcf_writable_by_member(membership=request.membership, meeting=meeting):
        raise PermissionDenied
    return meeting


def get_meeting_for_magic_pcf(*, member: TeamMember, pk) -> Meeting:
    """The same rule for a magic link, whose holder has no page showing the call: always 404."""
    meeting = get_object_for_member(
        meeting_list_for_team_member(member=member).select_related("contact", "org"), pk
    )
    if not pcf_is_theirs(meeting=meeting, member=member):
        raise Http404
    return meeting


def meeting_list_for_team_member(*, member: TeamMember) -> QuerySet[Meeting]:
    """What a magic link may reach: the calls of that one roster entry, in its own org."""
    return Meeting.objects.for_org(member.org_id).filter(
        Q(closer=member) | Q(setter=member) | Q(host=member)
    )


def pcf_owed(
    *, org: Organization, member: TeamMember | None = None, now: datetime | None = None
) -> QuerySet[Meeting]:
    """Due calls without a PCF (KPIS.md pcf_pending), oldest (most overdue) first."""
    now = now or timezone.now()
    qs = (
        Meeting.objects.for_org(org)
        .filter(scheduled_at__lte=now, pcf__isnull=True)
        .exclude(status__in=ENDED_STATUSES)
        .select_related("contact", "closer", "setter", "host")
    )
    if member is not None:
        qs = qs.filter(owed_by(member))
    cutoff = pcf_overdue_cutoff(org=org, now=now)
    return qs.annotate(
        is_overdue=Case(
            When(scheduled_at__lte=cutoff, then=Value(True)),
            default=Value(False),
            output_field=BooleanValue(),
        )
    ).order_by("scheduled_at", "pk")


def _day_bounds(org: Organization, now: datetime) -> tuple[datetime, datetime]:
    today = org_today(org, now)
    return org_period_bounds(org, today, today)


def rep_calls_today(*, org: Organization, member: TeamMember, now: datetime | None = None):
    start, end = _day_bounds(org, now or timezone.now())
    return (
        meeting_list_for_team_member(member=member)
        .filter(scheduled_at__gte=start, scheduled_at__lt=end)
        .exclude(status=Meeting.Status.RESCHEDULED)
        .select_related("contact", "pcf")
        .order_by("scheduled_at")
    )


def rep_calls_upcoming(
    *, org: Organization, member: TeamMember, now: datetime | None = None, days: int = 14
):
    _, end_of_today = _day_bounds(org, now or timezone.now())
    return (
        meeting_list_for_team_member(member=member)
        .filter(
            scheduled_at__gte=end_of_today, scheduled_at__lt=end_of_today + timedelta(days=days)
        )
        .exclude(status__in=ENDED_STATUSES)
        .select_related("contact")
        .order_by("scheduled_at")
    )


def rep_month_counts(*, org: Organization, member: TeamMember, now: datetime | None = None) -> dict:
    """A stand-in for apps.kpis.selectors.kpi_summary on the rep portal: this month's own counts."""
    local = timezone.localtime(now or timezone.now(), org.tzinfo)
    start, end = org_period_bounds(org, *month_bounds(local.date()))
    due = (
        meeting_list_for_team_member(member=member)
        .filter(scheduled_at__gte=start, scheduled_at__lt=min(end, local))
        .exclude(status=Meeting.Status.RESCHEDULED)
    )
    counts = due.aggregate(
        due=Count("pk"),
        attended=Count("pk", filter=Q(showed=True)),
        no_show=Count("pk", filter=Q(showed=False) & ~Q(status=Meeting.Status.CANCELED)),
        canceled=Count("pk", filter=Q(status=Meeting.Status.CANCELED)),
        offers=Count("pk", filter=Q(showed=True, pcf__offer_made=True)),
        closed=Count("pk", filter=Q(pcf__deal_closed=True)),
        pcf_filed=Count("pk", filter=Q(pcf__isnull=False)),
    )
    counts["start"], counts["end"] = start, end
    return counts


@dataclass
class OverdueGroup:
    member: TeamMember | None
    meetings: list[Meeting]


def pcf_overdue_by_rep(*, org: Organization, now: datetime | None = None) -> list[OverdueGroup]:
    """Overdue PCFs grouped by the rep who owes them, the rep owing most first."""
    now = now or timezone.now()
    cutoff = pcf_overdue_cutoff(org=org, now=now)
    groups: dict[int | None, OverdueGroup] = {}
    for meeting in pcf_owed(org=org, now=now).filter(scheduled_at__lte=cutoff):
        member = (
            meeting.host
            or meeting.closer
            or (meeting.setter if meeting.call_type == CallType.TRIAGE else None)
        )
        key = member.pk if member else None
        groups.setdefault(key, OverdueGroup(member=member, meetings=[])).meetings.append(meeting)
    return sorted(groups.values(), key=lambda g: (-len(g.meetings), g.member is None))


@dataclass
class DuplicatePair:
    first: Meeting
    second: Meeting


def meeting_suspected_duplicates(
    *, org: Organization, since: datetime | None = None, default_minutes: int = 30
) -> list[DuplicatePair]:
    """Same contact, same type, overlapping times, different bookings (live ones only)."""
    since = since or timezone.now() - timedelta(days=90)
    qs = (
        Meeting.objects.for_org(org)
        .filter(contact__isnull=False, scheduled_at__gte=since)
        .exclude(status__in=ENDED_STATUSES)
        .select_related("contact", "closer", "setter")
        .order_by("contact_id", "call_type", "scheduled_at", "pk")
    )
    pairs: list[DuplicatePair] = []
    window: list[Meeting] = []
    for meeting in qs:
        window = [
            m
            for m in window
            if m.contact_id == meeting.contact_id
            and m.call_type == meeting.call_type
            and _end(m, default_minutes) > meeting.scheduled_at
        ]
        pairs += [
            DuplicatePair(first=m, second=meeting)
            for m in window
            if m.external_id != meeting.external_id
        ]
        window.append(meeting)
    return pairs


def _end(meeting: Meeting, default_minutes: int) -> datetime:
    return meeting.ends_at or meeting.scheduled_at + timedelta(minutes=default_minutes)


def pcf_custom_answers(*, org: Organization, custom: dict | None) -> list[tuple[str, object]]:
    """A PCF's custom answers as (label, value), in the form's order; an answer to a field no
    longer configured keeps its key, so nothing a rep filed disappears."""
    from apps.meetings.services import pcf_custom_specs

    custom = dict(custom or {})
    rows = [(spec.label, custom.pop(spec.key)) for spec in pcf_custom_specs(org=org)
            if spec.key in custom]  # fmt: skip
    return rows + list(custom.items())
