"""Deal writes: CRM opportunities, deals a PCF reports, and folding the two into one.

A sale a rep reports on a PCF and the same sale the CRM marks won (same contact, closed within
the org's fold window) are one deal: the CRM row survives, the CRM wins value, currency, status
and dates, and the PCF stays linked (``Deal.pcf``). Deal writes for one contact serialise on an
advisory lock so a PCF save and a CRM webhook arriving together still fold.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.contacts.models import Contact, Provider
from apps.deals.models import Deal
from apps.meetings.models import CallType, Meeting
from apps.orgs.models import Organization, TeamMember, User
from apps.orgs.services import audit_log_write
from attribution.sources import close

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
DEFAULT_FOLD_WINDOW_DAYS = 14
_STATUS = {"won": Deal.Status.WON, "lost": Deal.Status.LOST, "active": Deal.Status.ACTIVE}
_FIELDS = (
    "contact_id",
    "status",
    "status_label",
    "value",
    "currency",
    "value_period",
    "confidence",
    "closed_at",
    "closer_id",
    "setter_id",
    "meeting_id",
    "pcf_id",
)


def fold_window(org: Organization) -> timedelta:
    days = (org.settings or {}).get(
        "deal_fold_window_days",
        getattr(settings, "DEAL_FOLD_WINDOW_DAYS", DEFAULT_FOLD_WINDOW_DAYS),
    )
    return timedelta(days=int(days))


def _lock(org: Organization, name: str) -> None:
    if connection.vendor != "postgresql":
        return
    digest = hashlib.blake2b(f"deal:{org.pk}:{name}".encode(), digest_size=8).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)]
        )


def _lock_contact(org: Organization, contact_id: int | None) -> None:
    if contact_id is not None:
        _lock(org, f"contact:{contact_id}")


def _recredit_payments(org: Organization, contact_id: int | None) -> None:
    # Imported here: payments import deals' models, and a deal change moves payment credit.
    from apps.payments.services import payments_recredit_for_contact

    payments_recredit_for_contact(org=org, contact_id=contact_id)


def _contact_setter(org: Organization, contact_id: int | None, before: datetime | None):
    """The host of the contact's triage call (KPIS.md), else the setter of its latest call."""
    if contact_id is None:
        return None
    meetings = Meeting.objects.for_org(org).filter(contact_id=contact_id)
    if before is not None:
        meetings = meetings.filter(scheduled_at__lte=before)
    triage = (
        meetings.filter(call_type=CallType.TRIAGE, host__isnull=False)
        .exclude(status=Meeting.Status.RESCHEDULED)
        .order_by("-scheduled_at")
        .first()
    )
    if triage is not None:
        return triage.host_id
    latest = meetings.filter(setter__isnull=False).order_by("-scheduled_at").first()
    return latest.setter_id if latest else None


def _won_at(org: Organization, opportunity: close.Opportunity) -> datetime:
    if opportunity.date_won is not None:
        # A date, not a moment: midday in the org's zone keeps it on that local day.
        return datetime.combine(opportunity.date_won, time(12), tzinfo=ZoneInfo(org.timezone))
    return opportunity.date_updated or opportunity.occurred_at or timezone.now()


# --- folding -----------------------------------------------------------------------------------


def _fold_pcf_deal_into(crm: Deal, *, org: Organization, actor: User | None) -> Deal | None:
    """Absorb the PCF deal describing the same sale as this won CRM deal, if there is one."""
    if crm.status != Deal.Status.WON or crm.pcf_id is not None or crm.contact_id is None:
        return None
    window = fold_window(org)
    candidates = (
        Deal.objects.for_org(org)
        .select_for_update()
        .filter(
            provider=Provider.MANUAL,
            external_id="",
            pcf__isnull=False,
            contact_id=crm.contact_id,
            status=Deal.Status.WON,
            closed_at__gte=crm.closed_at - window,
            closed_at__lte=crm.closed_at + window,
        )
    )
    manual = min(candidates, key=lambda d: abs(d.closed_at - crm.closed_at), default=None)
    if manual is None:
        return None
    crm.pcf_id = manual.pcf_id
    crm.meeting_id = crm.meeting_id or manual.meeting_id
    crm.closer_id = crm.closer_id or manual.closer_id
    crm.setter_id = crm.setter_id or manual.setter_id
    crm.save()
    for payment in manual.payments.select_for_update():
        payment.deal = crm
        payment.save()
    audit_log_write(
        org=org,
        actor=actor,
        action="deal.fold",
        target=crm,
        pcf=manual.pcf_id,
        folded_deal=manual.pk,
        pcf_value=str(manual.value),
    )
    manual.delete()
    return crm


def _crm_deal_for_pcf(org: Organization, *, contact_id: int | None, moment: datetime):
    if contact_id is None:
        return None
    window = fold_window(org)
    candidates = (
        Deal.objects.for_org(org)
        .select_for_update()
        .filter(
            contact_id=contact_id,
            pcf__isnull=True,
            status=Deal.Status.WON,
            closed_at__gte=moment - window,
            closed_at__lte=moment + window,
        )
        .exclude(external_id="")
    )
    return min(candidates, key=lambda d: abs(d.closed_at - moment), default=None)


# --- CRM ---------------------------------------------------------------------------------------


@transaction.atomic
def deal_upsert_from_crm(
    *, org: Organization, opportunity: close.Opportunity, contact: Contact | None
) -> tuple[Deal, str]:
    """One deal per Close opportunity; a deleted opportunity removes it (its PCF deal returns)."""
    provider = Provider.CLOSE
    # Two deliveries of one opportunity serialise here; its contact's lock (below) then orders
    # it against a PCF of the same sale. Always opportunity first, then contact: no deadlock.
    _lock(org, f"close:{opportunity.opportunity_id}")
    existing = (
        Deal.objects.for_org(org)
        .filter(provider=provider, external_id=opportunity.opportunity_id)
        .values_list("contact_id", flat=True)
        .first()
    )
    # The contact it had and the one it gets, in a fixed order.
    for contact_id in sorted({existing, contact.pk if contact is not None else None} - {None}):
        _lock_contact(org, contact_id)
    deal = (
        Deal.objects.for_org(org)
        .select_for_update()
        .filter(provider=provider, external_id=opportunity.opportunity_id)
        .first()
    )
    if opportunity.action == "deleted":
        if deal is None:
            return Deal(org=org, provider=provider, external_id=opportunity.opportunity_id), (
                UNCHANGED
            )
        return _delete_crm_deal(deal, org=org), UPDATED

    created = deal is None
    if created:
        deal = Deal(org=org, provider=provider, external_id=opportunity.opportunity_id)
        before = None
    else:
        before = _state(deal)
    if contact is not None:
        deal.contact = contact
    deal.status = _STATUS.get(opportunity.status_type or "", Deal.Status.ACTIVE)
    deal.status_label = (opportunity.status_label or "")[:100]
    deal.value = opportunity.value if opportunity.value is not None else Decimal("0.00")
    deal.currency = opportunity.currency or org.currency
    period = opportunity.value_period or ""
    deal.value_period = period if period in Deal.ValuePeriod.values else Deal.ValuePeriod.ONE_TIME
    deal.confidence = opportunity.confidence
    if deal.status != Deal.Status.WON:
        deal.closed_at = None
    elif opportunity.date_won is not None or deal.closed_at is None:
        deal.closed_at = _won_at(org, opportunity)
    owner = None
    if opportunity.user_id:
        owner = (
            TeamMember.objects.for_org(org)
            .filter(external_ids__close=opportunity.user_id)
            .values_list("pk", flat=True)
            .first()
        )
    pcf = deal.pcf
    deal.closer_id = owner or (pcf.author_id if pcf else None) or deal.closer_id
    deal.setter_id = _contact_setter(org, deal.contact_id, deal.closed_at) or deal.setter_id

    changed = created or _state(deal) != before
    if changed:
        deal.full_clean(exclude=["contact", "meeting", "pcf", "closer", "setter"])
        deal.save()
    # Tried even when nothing changed: a PCF deal may have come within a widened window.
    folded = _fold_pcf_deal_into(deal, org=org, actor=None) is not None
    if not (changed or folded):
        return deal, UNCHANGED
    if deal.status != Deal.Status.WON and deal.pcf_id is not None:
        # The CRM took the sale back: the PCF's own report of a sale stands on its own again.
        _unlink_pcf(deal, org=org)
    _recredit_payments(org, deal.contact_id)
    return deal, CREATED if created else UPDATED


def _state(deal: Deal) -> tuple:
    return tuple(getattr(deal, name) for name in _FIELDS)


def _unlink_pcf(deal: Deal, *, org: Organization) -> None:
    pcf = deal.pcf
    deal.pcf = None
    deal.save()
    if pcf is not None and pcf.deal_closed:
        deal_record_from_pcf(org=org, pcf=pcf, actor=None)


def _delete_crm_deal(deal: Deal, *, org: Organization) -> Deal:
    pcf = deal.pcf
    contact_id = deal.contact_id
    audit_log_write(org=org, actor=None, action="deal.delete_from_crm", target=deal)
    deal.delete()
    if pcf is not None and pcf.deal_closed:
        deal_record_from_pcf(org=org, pcf=pcf, actor=None)
    _recredit_payments(org, contact_id)
    return deal


# --- PCF ---------------------------------------------------------------------------------------


@transaction.atomic
def deal_record_from_pcf(*, org: Organization, pcf, actor: User | None) -> Deal:
    """The won deal a PCF reports, once per PCF however often the form is saved.

    When the CRM already has that sale the PCF links to the CRM deal instead (CRM wins).
    """
    meeting = pcf.meeting
    _lock_contact(org, meeting.contact_id)
    deal = Deal.objects.for_org(org).select_for_update().filter(pcf=pcf).first()
    # Dated by the call, not by when the form was typed: KPIS.md dates deals_won by closed_at.
    moment = min(meeting.scheduled_at, timezone.now())
    if deal is None:
        crm = _crm_deal_for_pcf(org, contact_id=meeting.contact_id, moment=moment)
        if crm is not None:
            crm.pcf = pcf
            crm.meeting = crm.meeting or meeting
            crm.closer_id = crm.closer_id or meeting.closer_id or pcf.author_id
            crm.setter_id = crm.setter_id or meeting.setter_id
            crm.save()
            audit_log_write(org=org, actor=actor, action="deal.fold", target=crm, pcf=pcf.pk)
            _recredit_payments(org, crm.contact_id)
            return crm
    if deal is not None and deal.provider != Provider.MANUAL:
        deal.closer_id = deal.closer_id or meeting.closer_id or pcf.author_id
        deal.setter_id = deal.setter_id or meeting.setter_id
        deal.save()
        return deal
    if deal is None:
        deal = Deal(org=org, pcf=pcf, provider=Provider.MANUAL)
    deal.contact = meeting.contact
    deal.meeting = meeting
    deal.status = Deal.Status.WON
    deal.value = pcf.contract_value
    deal.currency = pcf.currency or org.currency
    deal.closed_at = deal.closed_at or moment
    deal.closer = meeting.closer or pcf.author
    deal.setter = meeting.setter
    created = deal.pk is None
    deal.full_clean()
    deal.save()
    audit_log_write(
        org=org,
        actor=actor,
        action="deal.record_from_pcf" if created else "deal.update_from_pcf",
        target=deal,
        pcf=pcf.pk,
        value=str(deal.value),
    )
    _recredit_payments(org, deal.contact_id)
    return deal


@transaction.atomic
def deal_withdraw_from_pcf(*, org: Organization, pcf, actor: User | None) -> int:
    """A PCF corrected to "not closed": its manual deal goes; a CRM deal only loses the link."""
    deals = list(Deal.objects.for_org(org).filter(pcf=pcf))
    for deal in deals:
        audit_log_write(
            org=org, actor=actor, action="deal.withdraw_from_pcf", target=deal, pcf=pcf.pk
        )
        if deal.provider == Provider.MANUAL and not deal.external_id:
            deal.delete()
        else:
            deal.pcf = None
            deal.save()
    if deals:
        _recredit_payments(org, pcf.meeting.contact_id)
    return len(deals)
