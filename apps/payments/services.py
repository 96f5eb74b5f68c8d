"""Payment and refund writes: provider observations, cash a rep records, and credit.

Every provider write takes a transaction-scoped advisory lock on the payment's keys before it
reads, so two deliveries of one purchase (a webhook and a sync, or two events of one checkout)
serialise and make one row; the partial unique constraints on (org, provider, external_id) are
the backstop. Rows are written with ``save()`` so the KPI rollup signals see every change.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from apps.contacts.models import Contact, Provider
from apps.deals.models import Deal
from apps.meetings.models import Meeting
from apps.orgs.calendar import org_period_bounds
from apps.orgs.locks import LockNamespace, xact_lock
from apps.orgs.models import Organization, TeamMember, User
from apps.orgs.outcomes import Outcome
from apps.orgs.services import audit_log_write
from apps.payments.models import (
    CommissionRule,
    CreditBasis,
    Payment,
    PayoutLine,
    PayoutSnapshot,
    Refund,
)
from attribution import payouts
from attribution.sources.records import PaymentObservation, RefundObservation

CREATED, UPDATED, UNCHANGED = Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED
ZERO = Decimal("0.00")
# A payment made a few days before the CRM marks its deal won still pays for that deal.
DEFAULT_DEAL_GRACE_DAYS = 7

_STATUS = {
    "succeeded": Payment.Status.SUCCEEDED,
    # The money was received; the refund is counted on its own row.
    "refunded": Payment.Status.SUCCEEDED,
    "pending": Payment.Status.PENDING,
    "other": Payment.Status.PENDING,
    "failed": Payment.Status.FAILED,
}
_PAYMENT_FIELDS = (
    "contact_id",
    "deal_id",
    "meeting_id",
    "amount",
    "currency",
    "status",
    "paid_at",
    "closer_id",
    "setter_id",
    "product",
    "description",
    "charge_id",
    "credit_basis",
    "reported_refunded",
)
_REFUND_FIELDS = (
    "payment_id",
    "payment_external_id",
    "amount",
    "currency",
    "refunded_at",
    "reason",
)


def _state(obj, fields) -> tuple:
    return tuple(getattr(obj, name) for name in fields)


def _lock_keys(org: Organization, provider: str, keys) -> None:
    """Serialise every write about the same provider payment (ids in a fixed order)."""
    xact_lock(LockNamespace.PAYMENT, org.pk, [(provider, key) for key in keys if key])


# --- credit (KPIS.md "Who gets the credit") ----------------------------------------------------


def _grace(org: Organization) -> timedelta:
    days = (org.settings or {}).get(
        "payment_deal_grace_days",
        getattr(settings, "PAYMENT_DEAL_GRACE_DAYS", DEFAULT_DEAL_GRACE_DAYS),
    )
    return timedelta(days=int(days))


def deal_for_payment(
    *, org: Organization, contact_id: int | None, paid_at: datetime
) -> Deal | None:
    """The won deal a payment pays for: the contact's latest won before it (or just after)."""
    if contact_id is None:
        return None
    return (
        Deal.objects.for_org(org)
        .filter(
            contact_id=contact_id,
            status=Deal.Status.WON,
            closed_at__isnull=False,
            closed_at__lte=paid_at + _grace(org),
        )
        .order_by("-closed_at", "-id")
        .first()
    )


def attended_meeting_before(
    *, org: Organization, contact_id: int | None, moment: datetime
) -> Meeting | None:
    """The contact's most recent call that took place (showed) at or before ``moment``."""
    if contact_id is None:
        return None
    return (
        Meeting.objects.for_org(org)
        .filter(contact_id=contact_id, showed=True, scheduled_at__lte=moment)
        .exclude(status__in=[Meeting.Status.CANCELED, Meeting.Status.RESCHEDULED])
        .order_by("-scheduled_at", "-id")
        .first()
    )


def _credit_to(payment: Payment, *, deal: Deal | None, meeting: Meeting | None) -> None:
    """The one payment credit rule, whoever chose the deal or call (the automatic pass, an
    admin, a rep's PCF): the payment follows the deal, else the call (a deal's call when none
    is named); its closer and setter are the deal's, else the call's."""
    meeting = meeting or (deal.meeting if deal else None)
    payment.deal = deal
    payment.meeting = meeting
    payment.closer_id = (deal.closer_id if deal else None) or (
        meeting.closer_id if meeting else None
    )
    payment.setter_id = (deal.setter_id if deal else None) or (
        meeting.setter_id if meeting else None
    )
    payment.credit_basis = (
        CreditBasis.DEAL if deal else CreditBasis.MEETING if meeting else CreditBasis.NONE
    )


def _apply_credit(payment: Payment, *, org: Organization) -> None:
    """Fill deal, meeting, closer and setter; an admin's assignment is never overridden."""
    if payment.credit_basis == CreditBasis.MANUAL:
        return
    deal = deal_for_payment(org=org, contact_id=payment.contact_id, paid_at=payment.paid_at)
    meeting = None
    if deal is None:
        meeting = attended_meeting_before(
            org=org, contact_id=payment.contact_id, moment=payment.paid_at
        )
    _credit_to(payment, deal=deal, meeting=meeting)


def payments_recredit_for_contact(*, org: Organization, contact_id: int | None) -> int:
    """Re-run the credit rule for a contact's provider payments (a deal or call changed)."""
    if contact_id is None:
        return 0
    changed = 0
    payments = (
        Payment.objects.for_org(org)
        .select_for_update()
        .filter(contact_id=contact_id)
        .exclude(credit_basis=CreditBasis.MANUAL)
        # A PCF's cash is credited to the call it was reported on.
        .exclude(provider=Provider.MANUAL, external_id__startswith="pcf:")
    )
    for payment in payments:
        before = _state(payment, _PAYMENT_FIELDS)
        _apply_credit(payment, org=org)
        if _state(payment, _PAYMENT_FIELDS) != before:
            payment.save()
            changed += 1
    return changed


@transaction.atomic
def payment_assign(
    *,
    payment: Payment,
    actor: User | None,
    contact: Contact | None = None,
    deal: Deal | None = None,
    meeting: Meeting | None = None,
    closer: TeamMember | None = None,
    setter: TeamMember | None = None,
) -> Payment:
    """An admin credits a payment by hand; later automatic passes leave it alone.

    Closer and setter follow the deal, else the meeting, unless named explicitly.
    """
    org = payment.org
    for obj in (contact, deal, meeting, closer, setter):
        if obj is not None and obj.org_id != org.pk:
            raise ValueError("every assigned row must belong to the payment's org")
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if contact is not None:
        payment.contact = contact
    _credit_to(payment, deal=deal, meeting=meeting)
    payment.closer_id = closer.pk if closer else payment.closer_id
    payment.setter_id = setter.pk if setter else payment.setter_id
    payment.credit_basis = CreditBasis.MANUAL
    payment.save()
    audit_log_write(
        org=org,
        actor=actor,
        action="payment.assign",
        target=payment,
        deal=deal.pk if deal else None,
        meeting=payment.meeting_id,
        closer=payment.closer_id,
        setter=payment.setter_id,
    )
    return payment


@transaction.atomic
def payment_edit(*, payment: Payment, actor: User | None, changes: dict) -> Payment:
    """An admin edits a payment's own fields (amount, date, status, description...); credit
    goes through ``payment_assign``. Validated, audited with the fields changed and their old
    and new values (money and dates as text)."""
    credit = {"contact", "deal", "meeting", "closer", "setter", "credit_basis"}
    if credit & set(changes):
        raise ValueError("credit changes go through payment_assign")
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    before = {name: getattr(payment, name) for name in changes}
    for name, value in changes.items():
        setattr(payment, name, value)
    payment.full_clean()
    payment.save()
    changed = {
        name: [str(before[name]), str(value)]
        for name, value in changes.items()
        if before[name] != value
    }
    audit_log_write(
        org=payment.org, actor=actor, action="payment.edit", target=payment, changed=changed
    )
    return payment


@transaction.atomic
def payment_unassign(*, payment: Payment, actor: User | None) -> Payment:
    """Hand a payment back to the automatic credit rule."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    payment.credit_basis = CreditBasis.NONE
    _apply_credit(payment, org=payment.org)
    payment.save()
    audit_log_write(org=payment.org, actor=actor, action="payment.unassign", target=payment)
    return payment


# --- provider observations ---------------------------------------------------------------------


def _find_payment(org: Organization, provider: str, keys) -> Payment | None:
    keys = [k for k in keys if k]
    if not keys:
        return None
    qs = Payment.objects.for_org(org).select_for_update().filter(provider=provider)
    return qs.filter(external_id__in=keys).first() or qs.filter(charge_id__in=keys).first()


def _attach_waiting_refunds(payment: Payment) -> None:
    """Refunds that arrived before their payment join it now."""
    keys = [k for k in (payment.external_id, payment.charge_id) if k]
    waiting = Refund.objects.for_org(payment.org).filter(
        provider=payment.provider, payment__isnull=True, payment_external_id__in=keys
    )
    for refund in waiting.select_for_update():
        refund.payment = payment
        refund.save()


def _balance_external_id(payment: Payment) -> str:
    return f"balance:{payment.external_id}"


def _sync_balance_refund(payment: Payment) -> None:
    """Keep the refund the provider reported as a total, minus the itemised refunds, as one row."""
    balance_id = _balance_external_id(payment)
    balance = (
        Refund.objects.for_org(payment.org)
        .select_for_update()
        .filter(provider=payment.provider, external_id=balance_id)
        .first()
    )
    itemised = (
        Refund.objects.for_org(payment.org)
        .filter(payment=payment)
        .exclude(external_id=balance_id)
        .aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    missing = (payment.reported_refunded or ZERO) - itemised
    if missing <= 0:
        if balance is not None:
            balance.delete()
        return
    if balance is None:
        balance = Refund(
            org=payment.org,
            provider=payment.provider,
            external_id=balance_id,
            # The provider gave a total, not a date: the first time we heard of it is closest.
            refunded_at=timezone.now(),
            reason="reported as a refunded total",
        )
    if balance.amount != missing or balance.payment_id != payment.pk:
        balance.payment = payment
        balance.payment_external_id = payment.external_id
        balance.amount = missing
        balance.currency = payment.currency
        balance.save()


@transaction.atomic
def payment_upsert(
    *, org: Organization, observation: PaymentObservation, contact: Contact | None
) -> tuple[Payment, str]:
    """One payment per ``observation.payment_key`` however many events describe it."""
    provider = observation.source
    key = observation.payment_key
    _lock_keys(org, provider, [key, observation.charge_id])
    payment = _find_payment(org, provider, [key, observation.charge_id])
    created = payment is None
    if created:
        payment = Payment(org=org, provider=provider, external_id=key)
        before = None
    else:
        before = _state(payment, _PAYMENT_FIELDS)

    status = _STATUS.get(observation.status, Payment.Status.PENDING)
    # Events arrive in any order: a success is never undone by a late pending/failed event.
    if created or payment.status != Payment.Status.SUCCEEDED:
        payment.status = status
    if created or status == Payment.Status.SUCCEEDED or payment.status != Payment.Status.SUCCEEDED:
        payment.amount = observation.amount
        payment.currency = observation.currency
    # Stripe dates a purchase by its charge; a checkout or intent event is dated later.
    payment.paid_at = observation.paid_at if created else min(payment.paid_at, observation.paid_at)
    if contact is not None:
        payment.contact = contact
    if observation.charge_id and observation.charge_id != key:
        payment.charge_id = observation.charge_id
    product = observation.product_id or observation.plan_id
    if product:
        payment.product = product
    if observation.amount_refunded is not None and (
        payment.reported_refunded is None or observation.amount_refunded > payment.reported_refunded
    ):
        payment.reported_refunded = observation.amount_refunded
    _apply_credit(payment, org=org)

    if not created and _state(payment, _PAYMENT_FIELDS) == before:
        return payment, UNCHANGED
    payment.save()
    _attach_waiting_refunds(payment)
    _sync_balance_refund(payment)
    return payment, CREATED if created else UPDATED


@transaction.atomic
def refund_upsert(
    *, org: Organization, observation: RefundObservation, contact: Contact | None
) -> tuple[Refund, str]:
    """A refund is its own dated row, kept (payment=None) until its payment arrives.

    ``contact`` is accepted for the shared ingestion signature; a refund's people are its
    payment's. A refund the provider has not completed (pending, failed, canceled) is kept with
    amount 0 so nothing counts it, and takes its amount once a later event says it succeeded.
    """
    del contact
    provider = observation.source
    keys = [observation.payment_key, observation.payment_intent_id, observation.charge_id]
    _lock_keys(org, provider, keys)
    refund = (
        Refund.objects.for_org(org)
        .select_for_update()
        .filter(provider=provider, external_id=observation.refund_id)
        .first()
    )
    created = refund is None
    if created:
        refund = Refund(org=org, provider=provider, external_id=observation.refund_id)
        before = None
    else:
        before = _state(refund, _REFUND_FIELDS)
    payment = _find_payment(org, provider, keys)
    if payment is not None:
        refund.payment = payment
        refund.payment_external_id = payment.external_id
    elif refund.payment_id is None:
        refund.payment_external_id = observation.payment_key
    refund.amount = observation.amount if observation.succeeded else ZERO
    refund.currency = observation.currency
    refund.refunded_at = observation.refunded_at
    reason = observation.reason or ""
    if not observation.succeeded:
        reason = f"not counted: {observation.status}" + (f" ({reason})" if reason else "")
    refund.reason = reason[:200]

    if not created and _state(refund, _REFUND_FIELDS) == before:
        return refund, UNCHANGED
    refund.save()
    if refund.payment_id is not None:
        _sync_balance_refund(refund.payment)
    return refund, CREATED if created else UPDATED


# --- refunds entered by hand -------------------------------------------------------------------


def refund_manual_clean(
    *, payment: Payment, amount: Decimal, currency: str, refund: Refund | None = None
) -> None:
    """Raises ValidationError unless a hand-entered refund can stand on ``payment``: in its
    currency (KPIs and payouts net only that), and no more than what is left to refund."""
    errors = {}
    if currency and currency.upper() != payment.currency:
        errors["currency"] = f"A refund of this payment is in {payment.currency}."
    # The balance row stands for refunds not itemised yet: the one typed here may be one.
    others = payment.refunds.filter(currency=payment.currency).exclude(
        external_id=_balance_external_id(payment)
    )
    if refund is not None and refund.pk:
        others = others.exclude(pk=refund.pk)
    left = payment.amount - (others.aggregate(total=Sum("amount"))["total"] or ZERO)
    if amount is not None and amount > left:
        errors["amount"] = f"Only {left} {payment.currency} of this payment is left to refund."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def refund_save_manual(*, refund: Refund, actor: User | None = None) -> Refund:
    """A refund typed in the admin: saved on its payment, the provider's reported total kept
    net of it, and audited."""
    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    created = refund.pk is None
    refund.org_id = payment.org_id
    refund.currency = (refund.currency or payment.currency).upper()
    refund.provider = refund.provider or Provider.MANUAL
    if created and not refund.external_id:
        refund.external_id = f"admin:{uuid.uuid4().hex}"
    refund.payment_external_id = payment.external_id
    refund.save()
    _sync_balance_refund(payment)
    _audit_refund("refund.create" if created else "refund.update", refund, payment, actor)
    return refund


@transaction.atomic
def refund_delete_manual(*, refund: Refund, actor: User | None = None) -> None:
    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    _audit_refund("refund.delete", refund, payment, actor)
    refund.delete()
    _sync_balance_refund(payment)


def _audit_refund(action: str, refund: Refund, payment: Payment, actor: User | None) -> None:
    audit_log_write(
        org=payment.org,
        actor=actor,
        action=action,
        target=refund,
        payment=payment.pk,
        amount=str(refund.amount),
        currency=refund.currency,
    )


# --- cash entered by hand ----------------------------------------------------------------------


@transaction.atomic
def payment_record_manual(
    *,
    org: Organization,
    contact: Contact | None,
    amount: Decimal,
    currency: str,
    paid_at: datetime,
    meeting=None,
    deal=None,
    actor: User | None = None,
    external_id: str = "",
) -> Payment:
    """Cash recorded by hand. With ``external_id`` (e.g. "pcf:12") a second save updates the same
    row instead of counting the cash twice."""
    payment = None
    if external_id:
        _lock_keys(org, Provider.MANUAL, [external_id])
        payment = (
            Payment.objects.for_org(org)
            .select_for_update()
            .filter(provider=Provider.MANUAL, external_id=external_id)
            .first()
        )
    created = payment is None
    if payment is None:
        payment = Payment(org=org, provider=Provider.MANUAL, external_id=external_id)
    payment.contact = contact
    payment.amount = amount
    payment.currency = currency
    payment.paid_at = payment.paid_at if not created else paid_at
    payment.status = Payment.Status.SUCCEEDED
    if payment.credit_basis != CreditBasis.MANUAL and meeting is None and deal is None:
        # Cash entered without naming its call or deal is credited like provider cash.
        _apply_credit(payment, org=org)
    elif payment.credit_basis != CreditBasis.MANUAL:
        _credit_to(payment, deal=deal, meeting=meeting)
    payment.full_clean()
    payment.save()
    audit_log_write(
        org=org,
        actor=actor,
        action="payment.record_manual" if created else "payment.update_manual",
        target=payment,
        amount=str(amount),
        currency=currency,
    )
    return payment


@transaction.atomic
def payment_withdraw_manual(*, org: Organization, external_id: str, actor: User | None) -> int:
    """Remove a hand-recorded payment (a PCF corrected to no cash)."""
    payments = list(
        Payment.objects.for_org(org).filter(provider=Provider.MANUAL, external_id=external_id)
    )
    for payment in payments:
        audit_log_write(org=org, actor=actor, action="payment.withdraw_manual", target=payment)
        payment.delete()
    return len(payments)


# --- payout snapshots --------------------------------------------------------------------------


@dataclass
class _Accounted:
    """What the standing snapshots of other periods already did about one payment's refunds."""

    clawed: Decimal = ZERO  # refunds clawed back by adjustment lines
    snapshot_id: int | None = None  # the latest of them paying commission on the payment
    netted: Decimal = ZERO  # the refunds that snapshot's payment line subtracted


def _standing_accounts(org: Organization, start: date, end: date) -> dict[int, _Accounted]:
    """Per payment, from the standing snapshot of every other period (its latest run).

    Re-running a period replaces its earlier run, so only the latest snapshot of each period
    counts, and the period being run now counts not at all. Amounts rather than refund ids are
    compared, so a refund row replaced by another (a reported total itemised later) is not
    clawed twice.
    """
    standing = (
        PayoutSnapshot.objects.for_org(org)
        .exclude(period_start=start, period_end=end)
        .values("period_start", "period_end")
        .annotate(latest=Max("pk"))
        .values_list("latest", flat=True)
    )
    lines = (
        PayoutLine.objects.for_org(org)
        .filter(snapshot_id__in=list(standing), role="closer", payment__isnull=False)
        .order_by("snapshot_id", "pk")
        .values_list("payment_id", "snapshot_id", "is_adjustment", "gross_amount", "net_amount")
    )
    accounts: dict[int, _Accounted] = defaultdict(_Accounted)
    for payment_id, snapshot_id, is_adjustment, gross, net in lines:
        account = accounts[payment_id]
        if is_adjustment:
            account.clawed -= net
        else:
            account.snapshot_id, account.netted = snapshot_id, gross - net
    return accounts


def _refunded(payment: Payment) -> Decimal:
    return payouts.money_sum(
        r.amount for r in payment.refunds.all() if r.currency == payment.currency
    )


def _payment_lines(org, payments, rules, accounts) -> list[PayoutLine]:
    lines = []
    for payment in payments:
        # Refunds another period already clawed back are not subtracted a second time.
        net = payment.amount - (_refunded(payment) - accounts[payment.pk].clawed)
        netted_ids = sorted(r.pk for r in payment.refunds.all() if r.amount > 0)
        source = payment.contact.original_source if payment.contact else ""
        for role, member in (("closer", payment.closer), ("setter", payment.setter)):
            percent = (
                payouts.percent_for(rules, member=member.pk, role=role, product=payment.product)
                if member is not None
                else None
            ) or ZERO
            lines.append(
                PayoutLine(
                    org=org,
                    payment=payment,
                    team_member=member,
                    member_name=member.name if member else "",
                    role=role,
                    source=source,
                    currency=payment.currency,
                    paid_at=payment.paid_at,
                    gross_amount=payment.amount,
                    net_amount=net,
                    netted_refund_ids=netted_ids,
                    percent=percent,
                    commission=payouts.commission(net, percent),
                )
            )
    return lines


def _clawback_lines(org, *, lo, hi, accounts) -> list[PayoutLine]:
    """Refunds (or refund corrections) the standing snapshots have not accounted for yet."""
    paid_before = [pk for pk, account in accounts.items() if account.snapshot_id is not None]
    payments = (
        Payment.objects.for_org(org)
        .filter(pk__in=paid_before)
        .exclude(paid_at__gte=lo, paid_at__lt=hi)
        .prefetch_related("refunds")
        .order_by("paid_at", "pk")
    )
    lines = []
    for payment in payments:
        account = accounts[payment.pk]
        missing = _refunded(payment) - account.netted - account.clawed
        if missing == 0:
            continue
        latest_refund = max(payment.refunds.all(), key=lambda r: (r.created_at, r.pk), default=None)
        paid_lines = PayoutLine.objects.for_org(org).filter(
            snapshot_id=account.snapshot_id, payment=payment, is_adjustment=False
        )
        for paid in paid_lines:
            amount = -missing
            lines.append(
                PayoutLine(
                    org=org,
                    payment=payment,
                    refund=latest_refund,
                    team_member_id=paid.team_member_id,
                    member_name=paid.member_name,
                    role=paid.role,
                    source=paid.source,
                    currency=payment.currency,
                    paid_at=paid.paid_at,
                    gross_amount=ZERO,
                    net_amount=amount,
                    percent=paid.percent,
                    commission=payouts.commission(amount, paid.percent),
                    is_adjustment=True,
                )
            )
    return lines


def payout_lines_compute(*, org: Organization, start: date, end: date) -> list[PayoutLine]:
    """The lines a snapshot of [start, end] would freeze now, unsaved: the snapshot itself, and
    a rep's view of the running period that nobody has snapshotted yet."""
    lo, hi = org_period_bounds(org, start, end)
    rules = [
        payouts.Rule(member=r.team_member_id, role=r.role, percent=r.percent, product=r.product)
        for r in CommissionRule.objects.for_org(org)
    ]
    accounts = _standing_accounts(org, start, end)
    payments = (
        Payment.objects.for_org(org)
        .filter(status=Payment.Status.SUCCEEDED, paid_at__gte=lo, paid_at__lt=hi)
        .select_related("contact", "closer", "setter")
        .prefetch_related("refunds")
        .order_by("paid_at", "pk")
    )
    lines = _payment_lines(org, payments, rules, accounts)
    return lines + _clawback_lines(org, lo=lo, hi=hi, accounts=accounts)


@transaction.atomic
def payout_snapshot_create(
    *, org: Organization, start: date, end: date, actor: User | None
) -> PayoutSnapshot:
    """Freeze who earned what on the payments of [start, end] (org-local days, inclusive).

    One line per payment and role (closer, setter) with net cash = amount − its refunds known now;
    and, for a payment another period's standing snapshot paid commission on, one negative line
    per role for the refunds learned since (a clawback). Never edits an earlier snapshot.
    """
    if end < start:
        raise ValueError("the period ends before it starts")
    # Two managers pressing the button together make two snapshots, but never interleave
    # their clawback lookups.
    xact_lock(LockNamespace.PAYOUT_SNAPSHOT, org.pk, ["all"])
    lines = payout_lines_compute(org=org, start=start, end=end)
    summary = payouts.summarise(
        payouts.LineFacts(
            currency=line.currency,
            role=line.role,
            member=line.team_member_id,
            member_name=line.member_name or "(nobody)",
            source=line.source,
            net=line.net_amount,
            commission=line.commission,
            is_adjustment=line.is_adjustment,
        )
        for line in lines
    )
    snapshot = PayoutSnapshot.objects.create(
        org=org,
        period_start=start,
        period_end=end,
        currency=org.currency,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        summary=payouts.summary_to_json(summary),
    )
    for line in lines:
        line.snapshot = snapshot
    PayoutLine.objects.bulk_create(lines)
    audit_log_write(
        org=org,
        actor=actor,
        action="payout.snapshot_create",
        target=snapshot,
        period=f"{start}..{end}",
        lines=len(lines),
    )
    return snapshot
