"""Payment writes. Minimal for now: cash a rep records; the deals/payments issue extends this."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from apps.contacts.models import Contact, Provider
from apps.orgs.models import Organization, User
from apps.orgs.services import audit_log_write
from apps.payments.models import Payment


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
    payment.meeting = meeting
    payment.deal = deal
    payment.status = Payment.Status.SUCCEEDED
    if meeting is not None:
        payment.closer = meeting.closer
        payment.setter = meeting.setter
    if deal is not None:
        payment.closer = deal.closer or payment.closer
        payment.setter = deal.setter or payment.setter
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
