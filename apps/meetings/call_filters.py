"""The calls page's filters: one form (GET) and one selector, shared by the page and its CSV."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from apps.meetings.models import CallType, Meeting
from apps.meetings.selectors import meeting_list_for_member
from apps.meetings.services import ENDED_STATUSES, pcf_config_for
from apps.orgs.calendar import PeriodForm
from apps.orgs.models import Membership, Organization, TeamMember
from attribution.touch.channels import normalize_channel


class PcfState:
    FILED = "filed"
    LOCKED = "locked"
    MISSING = "missing"  # due, not cancelled or rescheduled, no PCF (KPIS.md pcf_pending)
    CHOICES = [(FILED, "Filed"), (LOCKED, "Filed and locked"), (MISSING, "Missing (due)")]


@dataclass(frozen=True)
class CallFilters:
    start: date | None = None
    end: date | None = None
    closer: TeamMember | None = None
    setter: TeamMember | None = None
    status: str = ""
    outcome: str = ""
    call_type: str = ""
    source: str = ""
    pcf: str = ""


class CallFilterForm(PeriodForm):
    """Every field optional: an empty form lists every call the member may see."""

    closer = forms.ModelChoiceField(queryset=TeamMember.objects.none(), required=False)
    setter = forms.ModelChoiceField(queryset=TeamMember.objects.none(), required=False)
    type = forms.ChoiceField(required=False, choices=[("", "All"), *CallType.choices])
    status = forms.ChoiceField(required=False, choices=[("", "All"), *Meeting.Status.choices])
    outcome = forms.CharField(required=False, max_length=100)
    source = forms.CharField(required=False, max_length=200)
    pcf = forms.ChoiceField(required=False, choices=[("", "All"), *PcfState.CHOICES])

    def __init__(self, *args, org: Organization, **kwargs):
        super().__init__(*args, today=timezone.localdate(timezone=org.tzinfo), **kwargs)
        members = TeamMember.objects.for_org(org)
        self.fields["closer"].queryset = members.filter(is_closer=True)
        self.fields["setter"].queryset = members.filter(is_setter=True)
        self.outcomes = [str(o) for o in pcf_config_for(org=org).outcomes or []]

    def filters(self) -> CallFilters:
        """The valid fields; a bad one is dropped (and reported on the page), the rest apply."""
        self.is_valid()
        data = self.cleaned_data
        ranged = bool(data.get("start") and data.get("end"))
        return CallFilters(
            start=data["start"] if ranged else None,
            end=data["end"] if ranged else None,
            closer=data.get("closer"),
            setter=data.get("setter"),
            status=data.get("status") or "",
            outcome=(data.get("outcome") or "").strip(),
            call_type=data.get("type") or "",
            source=(data.get("source") or "").strip(),
            pcf=data.get("pcf") or "",
        )


def meeting_list_filtered(
    *, membership: Membership, filters: CallFilters, now=None
) -> QuerySet[Meeting]:
    """The member's calls (a rep: their own) narrowed by ``filters``; dates in the org's zone,
    the end date inclusive."""
    from apps.orgs.calendar import org_period_bounds as period_bounds

    org = membership.org
    qs = meeting_list_for_member(membership=membership)
    if filters.start and filters.end:
        lo, hi = period_bounds(org, filters.start, filters.end)
        qs = qs.filter(scheduled_at__gte=lo, scheduled_at__lt=hi)
    if filters.closer is not None:
        qs = qs.filter(closer=filters.closer)
    if filters.setter is not None:
        qs = qs.filter(setter=filters.setter)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.call_type:
        qs = qs.filter(call_type=filters.call_type)
    if filters.outcome:
        qs = qs.filter(pcf__outcome__iexact=filters.outcome)
    if filters.source:
        # KPIS.md: a call's source is its contact's original one, stored normalised.
        qs = qs.filter(contact__original_source=normalize_channel(filters.source))
    if filters.pcf == PcfState.FILED:
        qs = qs.filter(pcf__isnull=False)
    elif filters.pcf == PcfState.LOCKED:
        qs = qs.filter(pcf__locked_at__isnull=False)
    elif filters.pcf == PcfState.MISSING:
        qs = qs.filter(scheduled_at__lte=now or timezone.now(), pcf__isnull=True).exclude(
            status__in=ENDED_STATUSES
        )
    return qs
