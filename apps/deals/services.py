"""Deal writes. Minimal for now: the PCF path; the deals/payments issue extends this module."""

from django.db import transaction
from django.utils import timezone

from apps.contacts.models import Provider
from apps.deals.models import Deal
from apps.orgs.models import Organization, User
from apps.orgs.services import audit_log_write


@transaction.atomic
def deal_record_from_pcf(*, org: Organization, pcf, actor: User | None) -> Deal:
    """The won deal a PCF reports, once per PCF however often the form is saved."""
    meeting = pcf.meeting
    deal = Deal.objects.for_org(org).filter(pcf=pcf, provider=Provider.MANUAL).first()
    if deal is None:
        deal = Deal(org=org, pcf=pcf, provider=Provider.MANUAL)
    deal.contact = meeting.contact
    deal.meeting = meeting
    deal.status = Deal.Status.WON
    deal.value = pcf.contract_value
    deal.currency = pcf.currency or org.currency
    # Dated by the call, not by when the form was typed: KPIS.md dates deals_won by closed_at.
    deal.closed_at = deal.closed_at or min(meeting.scheduled_at, timezone.now())
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
    return deal


@transaction.atomic
def deal_withdraw_from_pcf(*, org: Organization, pcf, actor: User | None) -> int:
    """A PCF corrected to "not closed": the manual deal it had recorded goes away."""
    deals = list(Deal.objects.for_org(org).filter(pcf=pcf, provider=Provider.MANUAL))
    for deal in deals:
        audit_log_write(
            org=org, actor=actor, action="deal.withdraw_from_pcf", target=deal, pcf=pcf.pk
        )
        deal.delete()
    return len(deals)
