"""Deal writes: CRM opportunities, deals a PCF reports, and folding the two into one.

A sale a rep reports on a PCF and the same sale the CRM marks won (same contact, closed within
the org's fold window) are one deal: the CRM row survives, the CRM wins value, currency, status
and dates, and the PCF stays linked (``Deal.pcf``). Deal writes for one contact serialise on an
advisory lock so a PCF save and a CRM webhook arriving together still fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.contacts.models import Contact, Provider
from apps.contacts.signals import journey_rows_bulk_changed
from apps.deals.models import Deal
from apps.kpis.invalidation import rollups_invalidate
from apps.meetings.services import contact_setter_calls, setter_from_calls
from apps.orgs.bulk import bulk_insert
from apps.orgs.locks import LockNamespace, xact_lock
from apps.orgs.models import Organization, TeamMember, User
from apps.orgs.outcomes import Outcome
from apps.orgs.services import audit_log_write
from attribution.sources import close

CREATED, UPDATED, UNCHANGED = Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED
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


def _lock(org: Organization, *names: str) -> None:
    """Transaction-scoped advisory locks, taken in key order so two batches cannot deadlock."""
    xact_lock(LockNamespace.DEAL, org.pk, names)


def _lock_contact(org: Organization, contact_id: int | None) -> None:
    if contact_id is not None:
        _lock(org, f"contact:{contact_id}")


def _recredit_payments(org: Organization, contact_id: int | None) -> None:
    # Imported here: payments import deals' models, and a deal change moves payment credit.
    from apps.payments.services import payments_recredit_for_contact

    payments_recredit_for_contact(org=org, contact_id=contact_id)


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


def deal_upsert_from_crm(
    *, org: Organization, opportunity: close.Opportunity, contact: Contact | None
) -> tuple[Deal, str]:
    """One deal per Close opportunity; a deleted opportunity removes it (its PCF deal returns)."""
    return deals_upsert_from_crm_many(org=org, items=[(opportunity, contact)])[0]


_CRM_WRITTEN = (
    "contact", "status", "status_label", "value", "currency", "value_period", "confidence",
    "closed_at", "closer", "setter", "updated_at",
)  # fmt: skip


def deals_upsert_from_crm_many(
    *, org: Organization, items: Sequence[tuple[close.Opportunity, Contact | None]]
) -> list[tuple[Deal, str]]:
    """``deal_upsert_from_crm`` for a page of opportunities, in one transaction.

    The same rule, with a fixed number of queries for the page plus one per deal that folds a
    PCF deal, gives one back, or moves payment credit (those contacts are found in bulk first).
    """
    ids = [opportunity.opportunity_id for opportunity, _ in items]
    if len(set(ids)) != len(ids):
        # The same opportunity twice: the second must see what the first wrote.
        return [
            result for item in items for result in deals_upsert_from_crm_many(org=org, items=[item])
        ]
    provider = Provider.CLOSE
    with transaction.atomic():
        # Two deliveries of one opportunity serialise here; the contacts' locks then order it
        # against a PCF of the same sale. Always opportunities first, then contacts, then rows:
        # the order a PCF save takes them in too, so no deadlock.
        _lock(org, *(f"close:{i}" for i in ids))
        had = (
            Deal.objects.for_org(org)
            .filter(provider=provider, external_id__any=ids)
            .values_list("contact_id", flat=True)
        )
        contact_ids = ({*had} | {c.pk for _, c in items if c is not None}) - {None}
        _lock(org, *(f"contact:{c}" for c in contact_ids))
        deals = {
            deal.external_id: deal
            for deal in Deal.objects.for_org(org)
            .select_for_update(of=("self",))
            .select_related("pcf")
            .filter(provider=provider, external_id__any=ids)
        }
        owners = _close_owners(org, {o.user_id for o, _ in items if o.user_id})

        entries: list[tuple[Deal, tuple | None, bool]] = []  # deal, state before, changed
        deleted: dict[int, tuple[Deal, str]] = {}
        for position, (opportunity, contact) in enumerate(items):
            deal = deals.get(opportunity.opportunity_id)
            if opportunity.action == "deleted":
                if deal is None:
                    gone = Deal(org=org, provider=provider, external_id=opportunity.opportunity_id)
                    deleted[position] = (gone, UNCHANGED)
                else:
                    deleted[position] = (_delete_crm_deal(deal, org=org), UPDATED)
                continue
            before = None
            if deal is None:
                deal = Deal(org=org, provider=provider, external_id=opportunity.opportunity_id)
            else:
                before = _state(deal)
            _apply_opportunity(
                deal,
                org=org,
                opportunity=opportunity,
                contact=contact,
                owner_id=owners.get(opportunity.user_id or ""),
            )
            entries.append((deal, before, False))

        meetings = contact_setter_calls(
            org=org, contact_ids={deal.contact_id for deal, _, _ in entries}
        )
        new, dirty, moments = [], [], []
        for index, (deal, before, _) in enumerate(entries):
            setter = setter_from_calls(meetings.get(deal.contact_id, []), before=deal.closed_at)
            deal.setter_id = setter or deal.setter_id
            if before is not None and _state(deal) == before:
                continue
            # Uniqueness is the opportunity's lock and the constraint's job, and the foreign
            # keys are rows we just read: no query per deal to check them again.
            deal.full_clean(
                exclude=["org", "contact", "meeting", "pcf", "closer", "setter"],
                validate_unique=False,
                validate_constraints=False,
            )
            if before is None:
                new.append(deal)
            else:
                deal.updated_at = timezone.now()
                dirty.append(deal)
                moments.append(before[_FIELDS.index("closed_at")])
            moments.append(deal.closed_at)
            entries[index] = (deal, before, True)
        bulk_insert(new)
        Deal.objects.bulk_update(dirty, _CRM_WRITTEN)
        if new or dirty:
            # bulk writes send no post_save: tell the rollups which days moved.
            rollups_invalidate(org_id=org.pk, moments=moments)
            journey_rows_bulk_changed.send(
                sender=Deal, org_id=org.pk, contact_ids=[d.contact_id for d in new + dirty]
            )

        folding = _contacts_with_pcf_deals(org, {deal.contact_id for deal, _, _ in entries})
        recredit: set[int] = set()
        results = []
        for deal, before, changed in entries:
            # Tried even when nothing changed: a PCF deal may have come within a widened window.
            folded = (
                deal.contact_id in folding
                and _fold_pcf_deal_into(deal, org=org, actor=None) is not None
            )
            if not (changed or folded):
                results.append((deal, UNCHANGED))
                continue
            if deal.status != Deal.Status.WON and deal.pcf_id is not None:
                # The CRM took the sale back: the PCF's own report of a sale stands on its own.
                _unlink_pcf(deal, org=org)
            if deal.contact_id is not None:
                recredit.add(deal.contact_id)
            results.append((deal, CREATED if before is None else UPDATED))
        for contact_id in sorted(recredit & _contacts_with_payments(org, recredit)):
            _recredit_payments(org, contact_id)

    ordered = iter(results)
    return [deleted[i] if i in deleted else next(ordered) for i in range(len(items))]


def _apply_opportunity(
    deal: Deal,
    *,
    org: Organization,
    opportunity: close.Opportunity,
    contact: Contact | None,
    owner_id: int | None,
) -> None:
    """What the CRM says about a deal (CRM wins value, status and dates); not the setter."""
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
    pcf = deal.pcf if deal.pcf_id else None
    deal.closer_id = owner_id or (pcf.author_id if pcf else None) or deal.closer_id


def _close_owners(org: Organization, user_ids: set[str]) -> dict[str, int]:
    """Close user id -> the roster entry carrying it (the oldest, if two claim it)."""
    owners: dict[str, int] = {}
    if not user_ids:
        return owners
    rows = (
        TeamMember.objects.for_org(org)
        .filter(external_ids__close__in=sorted(user_ids))
        .order_by("pk")
        .values_list("pk", "external_ids__close")
    )
    for pk, user_id in rows:
        owners.setdefault(str(user_id), pk)
    return owners


def _contacts_with_pcf_deals(org: Organization, contact_ids: set) -> set[int]:
    """Contacts holding a won deal a PCF reported (what ``_fold_pcf_deal_into`` looks for)."""
    ids = [c for c in contact_ids if c is not None]
    if not ids:
        return set()
    return set(
        Deal.objects.for_org(org)
        .filter(
            provider=Provider.MANUAL,
            external_id="",
            pcf__isnull=False,
            status=Deal.Status.WON,
            contact_id__any=ids,
        )
        .values_list("contact_id", flat=True)
    )


def _contacts_with_payments(org: Organization, contact_ids: set[int]) -> set[int]:
    from apps.payments.models import Payment

    if not contact_ids:
        return set()
    return set(
        Payment.objects.for_org(org)
        .filter(contact_id__any=contact_ids)
        .values_list("contact_id", flat=True)
        .distinct()
    )


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
