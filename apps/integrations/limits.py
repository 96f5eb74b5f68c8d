"""The column limits parsed records are fitted to (attribution.sources.clean.fit_record).

Lengths and digits are read from the models, so a migration that widens a column widens what is
kept; only the pairing of a record field with the column it lands in is written here, because
only this side knows where the services save each field.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import cache

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import connection, models

from apps.contacts.models import Contact, Identifier, SourceRecord
from apps.deals.models import CallActivity, Deal
from apps.meetings.models import Meeting
from apps.payments.models import Payment, Refund
from attribution.sources.clean import FieldLimits


def _length(model: type[models.Model], name: str) -> int:
    return model._meta.get_field(name).max_length


def _digits(model: type[models.Model], name: str) -> tuple[int, int, Decimal | None]:
    column = model._meta.get_field(name)
    lowest = max(
        (Decimal(v.limit_value) for v in column.validators if isinstance(v, MinValueValidator)),
        default=None,
    )
    return column.max_digits, column.decimal_places, lowest


def _valid(model: type[models.Model], name: str) -> Callable[[str], bool]:
    column = model._meta.get_field(name)

    def check(value: str) -> bool:
        try:
            column.run_validators(value)
        except ValidationError:
            return False
        return True

    return check


def _range(model: type[models.Model], name: str) -> tuple[int, int]:
    return connection.ops.integer_field_range(model._meta.get_field(name).get_internal_type())


@cache
def field_limits() -> FieldLimits:
    external_id = _length(SourceRecord, "external_id")
    identifier = _length(Identifier, "value")
    return FieldLimits(
        ids={
            "ExternalId.value": identifier,
            "InviteeEvent.invitee_uri": min(_length(Meeting, "external_id"), external_id),
            "InviteeEvent.old_invitee_uri": _length(Meeting, "replaces_external_id"),
            "InviteeEvent.new_invitee_uri": _length(Meeting, "external_id"),
            "FormResponse.token": external_id,
            "LeadOrContact.lead_id": min(external_id, identifier),
            "LeadOrContact.contact_id": min(external_id, identifier),
            "Opportunity.opportunity_id": min(_length(Deal, "external_id"), external_id),
            "Opportunity.lead_id": identifier,
            "Opportunity.contact_id": identifier,
            "CallActivity.activity_id": min(_length(CallActivity, "external_id"), external_id),
            "CallActivity.lead_id": _length(CallActivity, "lead_external_id"),
            "CallActivity.contact_id": identifier,
            # Kept together as "<source>><destination>" in one external id.
            "LeadMerged.source_lead_id": (external_id - 1) // 2,
            "LeadMerged.destination_lead_id": (external_id - 1) // 2,
            "PaymentObservation.payment_key": _length(Payment, "external_id"),
            "PaymentObservation.charge_id": _length(Payment, "charge_id"),
            "PaymentObservation.payment_intent_id": _length(Payment, "external_id"),
            "RefundObservation.refund_id": _length(Refund, "external_id"),
            "RefundObservation.payment_key": _length(Refund, "payment_external_id"),
            "RefundObservation.charge_id": _length(Payment, "charge_id"),
            "RefundObservation.payment_intent_id": _length(Payment, "external_id"),
            "MembershipEvent.membership_id": external_id,
        },
        text={
            "PersonObservation.emails": min(_length(Contact, "primary_email"), identifier),
            "PersonObservation.phones": identifier,
            "PersonObservation.first_name": _length(Contact, "first_name"),
            "PersonObservation.last_name": _length(Contact, "last_name"),
            "PersonObservation.full_name": _length(Contact, "first_name")
            + _length(Contact, "last_name"),
            "PersonObservation.company": _length(Contact, "company"),
            "InviteeEvent.event_uri": _length(Meeting, "event_uri"),
            "InviteeEvent.event_type_uri": _length(Meeting, "event_type_uri"),
            "InviteeEvent.event_name": _length(Meeting, "event_name"),
            "InviteeEvent.host_emails": identifier,
            "Opportunity.status_label": _length(Deal, "status_label"),
            "CallActivity.direction": _length(CallActivity, "direction"),
            "CallActivity.disposition": _length(CallActivity, "disposition"),
            "PaymentObservation.product_id": _length(Payment, "product"),
            "PaymentObservation.plan_id": _length(Payment, "product"),
            "RefundObservation.reason": _length(Refund, "reason"),
        },
        amounts={
            "Opportunity.value": _digits(Deal, "value"),
            "PaymentObservation.amount": _digits(Payment, "amount"),
            "PaymentObservation.amount_refunded": _digits(Payment, "reported_refunded"),
            "RefundObservation.amount": _digits(Refund, "amount"),
        },
        formats={
            "InviteeEvent.event_uri": _valid(Meeting, "event_uri"),
            "InviteeEvent.event_type_uri": _valid(Meeting, "event_type_uri"),
        },
        integers={
            "CallActivity.duration": _range(CallActivity, "duration_seconds"),
            "Opportunity.confidence": _range(Deal, "confidence"),
        },
    )
