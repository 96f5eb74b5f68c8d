"""What the API accepts and answers. Every field is typed for the OpenAPI schema."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.api.models import Activity, ContactConversion, Conversion, ConversionStatus
from apps.api.services import ConversionInput, custom_data_clean
from apps.contacts.models import Contact, Identifier, IdentifierKind, Provider
from apps.deals.models import Deal
from apps.meetings.models import CallType, Meeting, PaymentType, PostCallForm
from apps.payments.models import Payment
from attribution.kpis.display import CURRENCIES

MAX_VALUE = Decimal("999999999999.99")
BIGINT = 2**63 - 1
MONEY_PATTERN = r"^-?\d+\.\d{2}$"

_money_schema = {"type": "string", "pattern": MONEY_PATTERN, "example": "1500.00"}
_values_schema = {
    "type": "object",
    "description": "Sums per ISO 4217 currency, as decimal strings.",
    "additionalProperties": {"type": "string", "pattern": MONEY_PATTERN},
    "example": {"USD": "1500.00"},
}


@extend_schema_field(_money_schema)
class MoneyField(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(max_digits=16, decimal_places=2, read_only=True, **kwargs)


@extend_schema_field({"type": "number", "minimum": 0, "maximum": float(MAX_VALUE), "example": 1500})
class ValueField(serializers.Field):
    """A JSON number from 0 up; more than two decimals are rounded half up to cents."""

    default_error_messages = {
        "type": "Must be a JSON number.",
        "range": f"Must be between 0 and {MAX_VALUE}.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("type")
        try:
            value = Decimal(str(data)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        except InvalidOperation:
            self.fail("type")
        if not value.is_finite() or value < 0 or value > MAX_VALUE:
            self.fail("range")
        return value

    def to_representation(self, value):
        return f"{value:.2f}"


@extend_schema_field({"type": "object", "additionalProperties": True})
class ObjectField(serializers.JSONField):
    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return data


class StrictCharField(serializers.CharField):
    """A string, never a number or a boolean turned into one."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=[
            "invalid_request",
            "parse_error",
            "not_authenticated",
            "permission_denied",
            "not_found",
            "method_not_allowed",
            "not_acceptable",
            "conflict",
            "idempotency_conflict",
            "request_too_large",
            "unsupported_media_type",
            "throttled",
            "server_error",
        ]
    )
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field name (dotted when nested) -> its messages; empty when no field is to blame.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# --- conversions -----------------------------------------------------------------------------

CONVERSION_TYPE_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"


class ConversionCreateSerializer(serializers.Serializer):
    contact_id = StrictIntegerField(
        required=False,
        min_value=1,
        max_value=BIGINT,
        help_text="The contact converted. Give this, or email and/or phone instead.",
    )
    email = serializers.EmailField(
        required=False,
        max_length=254,
        help_text="Resolved to a contact through identity resolution (one is created if none matches).",
    )
    phone = StrictCharField(
        required=False, max_length=32, help_text="Any format; resolved like email."
    )
    lead_id = StrictCharField(required=False, allow_blank=True, max_length=255)
    workspace_id = serializers.SlugField(
        required=False,
        max_length=60,
        help_text="The workspace's slug; defaults to the key's, and may only name it.",
    )
    converted_by = StrictCharField(required=False, allow_blank=True, max_length=200)
    conversion_type = serializers.RegexField(
        CONVERSION_TYPE_PATTERN,
        max_length=64,
        help_text="Lower-case letters, digits, - and _, e.g. sale, booking, upsell.",
    )
    conversion_value = ValueField()
    currency = serializers.ChoiceField(
        choices=sorted(CURRENCIES), required=False, help_text="Defaults to the org's currency."
    )
    converted_at = serializers.DateTimeField(
        required=False, help_text="ISO 8601 with a time zone; defaults to now."
    )
    custom_data = ObjectField(
        required=False, help_text="Any JSON object up to 8 KiB as compact JSON."
    )
    external_id = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=255,
        help_text="Your id of the conversion: a second POST with it answers the first one.",
    )

    def validate_custom_data(self, value):
        try:
            return custom_data_clean(value)
        except Exception as exc:  # a Django ValidationError naming the field
            raise serializers.ValidationError(exc.message_dict["custom_data"]) from exc

    def validate_converted_at(self, value):
        if value.year < 1900:
            raise serializers.ValidationError("Must be after 1900.")
        return value

    def validate(self, attrs):
        has_contact = "contact_id" in attrs
        has_person = bool(attrs.get("email") or attrs.get("phone"))
        if has_contact and has_person:
            raise serializers.ValidationError(
                {"contact_id": "Give contact_id or email/phone, not both."}
            )
        if not has_contact and not has_person:
            raise serializers.ValidationError(
                {"contact_id": "Give contact_id, or email and/or phone."}
            )
        return attrs

    def to_input(self) -> ConversionInput:
        data = dict(self.validated_data)
        data.pop("workspace_id", None)
        return ConversionInput(**data)


class ConversionSerializer(serializers.ModelSerializer):
    contact_id = serializers.IntegerField(read_only=True)
    workspace_id = serializers.SlugField(source="workspace.slug", read_only=True)
    conversion_value = MoneyField()
    custom_data = ObjectField(read_only=True)
    currency = serializers.CharField(read_only=True, min_length=3, max_length=3)

    class Meta:
        model = Conversion
        fields = [
            "id",
            "contact_id",
            "workspace_id",
            "lead_id",
            "converted_by",
            "conversion_type",
            "conversion_value",
            "currency",
            "converted_at",
            "custom_data",
            "external_id",
            "created_at",
        ]
        read_only_fields = fields


class ContactConversionUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ConversionStatus.choices, required=False)
    sent_from_workspace_id = serializers.SlugField(
        required=False, allow_null=True, max_length=60, help_text="A workspace's slug, or null."
    )
    converted_from_workspace_id = serializers.SlugField(
        required=False, allow_null=True, max_length=60, help_text="A workspace's slug, or null."
    )
    converted_by = StrictCharField(required=False, allow_blank=True, max_length=200)
    metadata = ObjectField(
        required=False,
        help_text=(
            "Merged into the stored metadata as a JSON Merge Patch (RFC 7386): a key replaces "
            "the stored key, null removes it, an object merges into an object key by key. "
            "The result may be up to 8 KiB as compact JSON."
        ),
    )


class ContactConversionSerializer(serializers.ModelSerializer):
    contact_id = serializers.IntegerField(read_only=True)
    sent_from_workspace_id = serializers.SlugField(
        source="sent_from.slug", read_only=True, allow_null=True, default=None
    )
    converted_from_workspace_id = serializers.SlugField(
        source="converted_from.slug", read_only=True, allow_null=True, default=None
    )
    metadata = ObjectField(read_only=True)

    class Meta:
        model = ContactConversion
        fields = [
            "contact_id",
            "status",
            "sent_from_workspace_id",
            "converted_from_workspace_id",
            "converted_by",
            "metadata",
            "first_converted_at",
            "updated_at",
        ]
        read_only_fields = fields


class ActivitySerializer(serializers.ModelSerializer):
    data = ObjectField(read_only=True)

    class Meta:
        model = Activity
        fields = ["id", "action", "target_type", "target_id", "data", "created_at"]
        read_only_fields = fields


# --- analytics -------------------------------------------------------------------------------


@extend_schema_field(_values_schema)
class ValuesField(serializers.DictField):
    pass


class _Tally(serializers.Serializer):
    conversions = serializers.IntegerField(min_value=0)
    value = ValuesField()


class AnalyticsPeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    timezone = serializers.CharField()
    currency = serializers.CharField()


class AnalyticsSummarySerializer(_Tally):
    leads = serializers.IntegerField(min_value=0, help_text="Contacts first seen in the period.")
    converted_contacts = serializers.IntegerField(
        min_value=0, help_text="Contacts whose first conversion falls in the period."
    )
    conversion_rate = serializers.FloatField(
        allow_null=True,
        min_value=0,
        help_text=(
            "converted_contacts / leads, both counted over the period (so a period in which "
            "earlier leads convert can pass 1); null when the period has no lead."
        ),
    )


class ByWorkspaceSerializer(_Tally):
    workspace_id = serializers.CharField(help_text="The workspace's slug.")


class ByTypeSerializer(_Tally):
    conversion_type = serializers.CharField()


class TrendPointSerializer(_Tally):
    period = serializers.DateField(help_text="The day, the Monday of the week, or the 1st.")


class TrendsSerializer(serializers.Serializer):
    daily = TrendPointSerializer(many=True)
    weekly = TrendPointSerializer(many=True)
    monthly = TrendPointSerializer(many=True)


class AnalyticsSerializer(serializers.Serializer):
    period = AnalyticsPeriodSerializer()
    summary = AnalyticsSummarySerializer()
    by_workspace = ByWorkspaceSerializer(many=True)
    by_type = ByTypeSerializer(many=True)
    trends = TrendsSerializer()


# --- read API --------------------------------------------------------------------------------


class IdentifierSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=IdentifierKind.choices, read_only=True)
    source = serializers.ChoiceField(
        choices=[("", "Unknown"), *Provider.choices], read_only=True, allow_blank=True
    )

    class Meta:
        model = Identifier
        fields = ["kind", "value", "is_primary", "shared", "source"]
        read_only_fields = fields


class ContactSerializer(serializers.ModelSerializer):
    identifiers = IdentifierSerializer(many=True, read_only=True)
    conversion = serializers.SerializerMethodField()
    # Blank when unknown: a plain string, not an email format.
    primary_email = serializers.CharField(read_only=True)

    class Meta:
        model = Contact
        fields = [
            "id",
            "first_name",
            "last_name",
            "primary_email",
            "primary_phone",
            "company",
            "lead_status",
            "original_source",
            "original_medium",
            "original_campaign",
            "original_content",
            "original_term",
            "first_seen_at",
            "created_at",
            "updated_at",
            "identifiers",
            "conversion",
        ]
        read_only_fields = fields

    @extend_schema_field(ContactConversionSerializer(allow_null=True))
    def get_conversion(self, contact):
        row = getattr(contact, "conversion_status", None)
        return ContactConversionSerializer(row).data if row is not None else None


class CallSerializer(serializers.ModelSerializer):
    contact_id = serializers.IntegerField(read_only=True, allow_null=True)
    closer = serializers.CharField(
        source="closer.name", read_only=True, allow_null=True, default=None
    )
    setter = serializers.CharField(
        source="setter.name", read_only=True, allow_null=True, default=None
    )
    call_type = serializers.ChoiceField(choices=CallType.choices, read_only=True)
    status = serializers.ChoiceField(choices=Meeting.Status.choices, read_only=True)

    class Meta:
        model = Meeting
        fields = [
            "id",
            "contact_id",
            "provider",
            "event_name",
            "call_type",
            "status",
            "scheduled_at",
            "ends_at",
            "booked_at",
            "canceled_at",
            "showed",
            "closer",
            "setter",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "created_at",
        ]
        read_only_fields = fields


class PcfSerializer(serializers.ModelSerializer):
    call_id = serializers.IntegerField(source="meeting_id", read_only=True)
    cash_collected = MoneyField(allow_null=True)
    contract_value = MoneyField(allow_null=True)
    payment_type = serializers.ChoiceField(
        choices=[("", "Not given"), *PaymentType.choices], read_only=True, allow_blank=True
    )
    custom = ObjectField(read_only=True)

    class Meta:
        model = PostCallForm
        fields = [
            "id",
            "call_id",
            "call_occurred",
            "lead_showed",
            "offer_made",
            "deal_closed",
            "cash_collected",
            "contract_value",
            "currency",
            "payment_type",
            "outcome",
            "notes",
            "custom",
            "submitted_at",
            "updated_at",
        ]
        read_only_fields = fields


class DealSerializer(serializers.ModelSerializer):
    contact_id = serializers.IntegerField(read_only=True, allow_null=True)
    value = MoneyField()
    closer = serializers.CharField(
        source="closer.name", read_only=True, allow_null=True, default=None
    )
    setter = serializers.CharField(
        source="setter.name", read_only=True, allow_null=True, default=None
    )
    status = serializers.ChoiceField(choices=Deal.Status.choices, read_only=True)

    class Meta:
        model = Deal
        fields = [
            "id",
            "contact_id",
            "provider",
            "status",
            "status_label",
            "value",
            "currency",
            "closed_at",
            "closer",
            "setter",
            "created_at",
        ]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    contact_id = serializers.IntegerField(read_only=True, allow_null=True)
    amount = MoneyField()
    closer = serializers.CharField(
        source="closer.name", read_only=True, allow_null=True, default=None
    )
    setter = serializers.CharField(
        source="setter.name", read_only=True, allow_null=True, default=None
    )
    status = serializers.ChoiceField(choices=Payment.Status.choices, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "contact_id",
            "provider",
            "amount",
            "currency",
            "status",
            "paid_at",
            "product",
            "closer",
            "setter",
            "created_at",
        ]
        read_only_fields = fields
