"""The REST API (v1): thin views over the services and selectors of apps/api and the other apps."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.cache import get_conditional_response
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, serializers
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from apps.api import selectors, services
from apps.api.models import Scope, Workspace
from apps.api.parsers import check_length
from apps.api.serializers import (
    CONVERSION_TYPE_PATTERN,
    ActivitySerializer,
    AnalyticsSerializer,
    CallSerializer,
    ContactConversionSerializer,
    ContactConversionUpdateSerializer,
    ContactSerializer,
    ConversionCreateSerializer,
    ConversionSerializer,
    DealSerializer,
    ErrorSerializer,
    PaymentSerializer,
    PcfSerializer,
)
from apps.contacts.selectors import contact_list_for_member
from apps.deals.selectors import deal_list_for_member
from apps.kpis.selectors import month_bounds
from apps.kpis.views import UnknownTeamMember, summary_for
from apps.meetings.models import PostCallForm
from apps.meetings.selectors import meeting_list_for_member
from apps.orgs.access import sees_money
from apps.payments.selectors import payment_list_for_member

_DESCRIPTIONS = {
    400: "Invalid input: `error.fields` names each bad field.",
    401: "No key, or a key that is unknown, revoked or expired.",
    403: "The key lacks the scope (or its user the role) this needs.",
    404: "No such object in the key's organisation (another org's id is the same 404).",
    406: "The API answers application/json only.",
    409: "The Idempotency-Key or external_id was used with another body.",
    413: "The body is over 64 KiB.",
    415: "Send the body as application/json.",
    429: "Too many requests for this key or organisation; see Retry-After.",
}


def errors(*codes: int) -> dict:
    return {
        code: OpenApiResponse(ErrorSerializer, description=_DESCRIPTIONS[code])
        for code in (401, 403, 406, 429, *codes)
    }


READ_ERRORS = errors(400, 404)
WRITE_ERRORS = errors(400, 404, 409, 413, 415)


class ApiPagination(CursorPagination):
    """Newest first, opaque cursors (stable under inserts), ``limit`` items a page."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def decode_cursor(self, request):
        raw = request.query_params.get(self.cursor_query_param)
        if raw is not None and not re.fullmatch(r"[A-Za-z0-9+/=]*", raw):
            raise exceptions.ValidationError({"cursor": ["Not a cursor of this API."]})
        return super().decode_cursor(request)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {"limit": [f"Must be a whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "The `next` or `previous` link's cursor.",
                "schema": {"type": "string", "pattern": r"^[A-Za-z0-9+/=]*$"},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": "Items per page.",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


class ApiView(GenericAPIView):
    """Every endpoint: body size checked first, ETag on successful reads."""

    pagination_class = ApiPagination

    @property
    def key(self):
        return self.request.auth

    def initial(self, request, *args, **kwargs):
        check_length(request)
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method == "GET" and response.status_code == 200:
            response.render()
            etag = f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
            response["ETag"] = etag
            conditional = get_conditional_response(request._request, etag=etag)
            if conditional is not None:
                conditional["ETag"] = etag
                return conditional
        return response

    def membership(self):
        return selectors.key_membership(self.key)

    def require_conversions(self):
        if not selectors.key_sees_conversions(self.key):
            raise exceptions.PermissionDenied("Conversions are for managers and above.")

    def filters(self, serializer_class):
        # A plain dict, not the QueryDict: DRF reads an empty form value as "not given".
        serializer = serializer_class(data=self.request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def listing(self, queryset):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def detail(self, queryset, pk):
        obj = queryset.filter(pk=pk).first()
        if obj is None:
            raise exceptions.NotFound("No such object.")
        return Response(self.get_serializer(obj).data)


# --- conversions -----------------------------------------------------------------------------


class ConversionFilterSerializer(serializers.Serializer):
    workspace = serializers.SlugField(required=False, max_length=60, help_text="A slug.")
    contact = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    type = serializers.RegexField(CONVERSION_TYPE_PATTERN, required=False, max_length=64)
    # "from" is a keyword: the serializer's field is renamed below.
    from_ = serializers.DateField(required=False, help_text="First day (YYYY-MM-DD), inclusive.")
    to = serializers.DateField(required=False, help_text="Last day (YYYY-MM-DD), inclusive.")
    min_value = serializers.FloatField(required=False, min_value=0, max_value=1e12)
    max_value = serializers.FloatField(required=False, min_value=0, max_value=1e12)


ConversionFilterSerializer._declared_fields["from"] = (
    ConversionFilterSerializer._declared_fields.pop("from_")
)

_IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any string up to 255 characters: a second POST with the same key (from this workspace) "
        "answers 200 with the first one's body and logs nothing."
    ),
)


class ConversionsView(ApiView):
    serializer_class = ConversionSerializer

    @property
    def required_scope(self):
        return Scope.CONVERT if self.request.method == "POST" else Scope.READ

    @extend_schema(
        operation_id="conversions_list",
        summary="List conversions",
        description="Newest first. A workspace's key sees what its workspace logged.",
        parameters=[ConversionFilterSerializer],
        responses={200: ConversionSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request):
        self.require_conversions()
        f = self.filters(ConversionFilterSerializer)
        qs = selectors.conversion_list_for_key(key=self.key)
        if "workspace" in f:
            qs = qs.filter(workspace__slug=f["workspace"])
        if "contact" in f:
            qs = qs.filter(contact_id=f["contact"])
        if "type" in f:
            qs = qs.filter(conversion_type=f["type"])
        org = self.key.org
        if "from" in f:
            qs = qs.filter(converted_at__gte=selectors.local_bounds(org, f["from"], f["from"])[0])
        if "to" in f:
            qs = qs.filter(converted_at__lt=selectors.local_bounds(org, f["to"], f["to"])[1])
        if "min_value" in f:
            qs = qs.filter(conversion_value__gte=Decimal(str(f["min_value"])))
        if "max_value" in f:
            qs = qs.filter(conversion_value__lte=Decimal(str(f["max_value"])))
        return self.listing(qs)

    @extend_schema(
        operation_id="conversions_create",
        summary="Log a conversion",
        description=(
            "Needs the `convert` scope. Resolves `email`/`phone` to a contact (creating one if "
            "nobody matches) when no `contact_id` is given. Idempotent: a replay with the same "
            "`Idempotency-Key` header or `external_id` answers 200 with the stored conversion. "
            "The conversion is also a touchpoint of the contact's journey."
        ),
        parameters=[_IDEMPOTENCY],
        request=ConversionCreateSerializer,
        responses={
            201: OpenApiResponse(ConversionSerializer, description="Logged."),
            200: OpenApiResponse(ConversionSerializer, description="A replay: the stored one."),
            **WRITE_ERRORS,
        },
    )
    def post(self, request):
        key = self.key
        if key.workspace is None:
            raise exceptions.PermissionDenied("Only a workspace's key logs conversions.")
        idempotency_key = request.headers.get("Idempotency-Key", "").strip()
        if len(idempotency_key) > 255:
            raise exceptions.ValidationError(
                {"Idempotency-Key": ["Must be at most 255 characters."]}
            )
        serializer = ConversionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        slug = serializer.validated_data.get("workspace_id")
        if slug and slug != key.workspace.slug:
            raise exceptions.ValidationError(
                {"workspace_id": [f"This key logs conversions for {key.workspace.slug} only."]}
            )
        conversion, created = services.conversion_record(
            org=key.org,
            workspace=key.workspace,
            data=serializer.to_input(),
            api_key=key,
            idempotency_key=idempotency_key,
        )
        conversion.workspace = key.workspace
        return Response(ConversionSerializer(conversion).data, status=201 if created else 200)


class ConversionDetailView(ApiView):
    serializer_class = ConversionSerializer

    @extend_schema(
        operation_id="conversions_retrieve",
        summary="One conversion",
        responses={200: ConversionSerializer, **READ_ERRORS},
    )
    def get(self, request, pk: int):
        self.require_conversions()
        return self.detail(selectors.conversion_list_for_key(key=self.key), pk)


class AnalyticsFilterSerializer(serializers.Serializer):
    from_ = serializers.DateField(required=False, help_text="First day; default: 29 days ago.")
    to = serializers.DateField(required=False, help_text="Last day; default: today (org's zone).")
    workspace = serializers.SlugField(required=False, max_length=60)
    type = serializers.RegexField(CONVERSION_TYPE_PATTERN, required=False, max_length=64)

    def validate(self, attrs):
        if "from" in attrs and "to" in attrs and attrs["to"] < attrs["from"]:
            raise serializers.ValidationError({"to": "Is before from."})
        return attrs


AnalyticsFilterSerializer._declared_fields["from"] = AnalyticsFilterSerializer._declared_fields.pop(
    "from_"
)


class AnalyticsView(ApiView):
    serializer_class = AnalyticsSerializer
    pagination_class = None

    @extend_schema(
        operation_id="conversions_analytics",
        summary="Conversion analytics",
        description=(
            "Summary, by workspace, by type, and daily, weekly (Mondays) and monthly trends over "
            "a period of org-local days (at most 731). **conversion_rate** = converted_contacts "
            "/ leads: leads are the contacts first seen in the period (the lead date of the "
            "KPI definitions), converted_contacts those whose first conversion falls in it; "
            "null without leads. A workspace's key sees its own workspace's figures."
        ),
        parameters=[AnalyticsFilterSerializer],
        responses={200: AnalyticsSerializer, **READ_ERRORS},
    )
    def get(self, request):
        self.require_conversions()
        f = self.filters(AnalyticsFilterSerializer)
        org = self.key.org
        today = timezone.localdate(timezone=org.tzinfo)
        end = f.get("to") or max(today, f.get("from") or today)
        start = f.get("from") or min(end - timedelta(days=29), end)
        if (end - start).days + 1 > selectors.ANALYTICS_MAX_DAYS:
            raise exceptions.ValidationError(
                {"from": [f"The period is at most {selectors.ANALYTICS_MAX_DAYS} days."]}
            )
        workspace_id = self.key.workspace_id
        if "workspace" in f:
            found = Workspace.objects.for_org(org).filter(slug=f["workspace"]).first()
            if found is None or (workspace_id is not None and found.pk != workspace_id):
                raise exceptions.NotFound("No such workspace.")
            workspace_id = found.pk
        data = selectors.conversion_analytics(
            org=org,
            filters=selectors.AnalyticsFilters(
                start=start,
                end=end,
                workspace_id=workspace_id,
                conversion_type=f.get("type", ""),
            ),
        )
        return Response(data)


class ContactConversionView(ApiView):
    serializer_class = ContactConversionSerializer
    required_scope = Scope.UPDATE

    @extend_schema(
        operation_id="contacts_conversion_update",
        summary="Update a contact's conversion status",
        description=(
            "Needs the `update` scope. Fields left out stay as they are. `metadata` is merged "
            "into the stored metadata as a JSON Merge Patch (RFC 7386): each key replaces the "
            "stored key, `null` removes it, and an object merges into an object key by key."
        ),
        request=ContactConversionUpdateSerializer,
        responses={200: ContactConversionSerializer, **WRITE_ERRORS},
    )
    def patch(self, request, pk: int):
        key = self.key
        if key.workspace is None:
            raise exceptions.PermissionDenied("Only a workspace's key updates contacts.")
        contact = contact_list_for_member(membership=self.membership()).filter(pk=pk).first()
        if contact is None:
            raise exceptions.NotFound("No such contact.")
        serializer = ContactConversionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        kwargs = {
            name: data[field]
            for name, field in (
                ("sent_from", "sent_from_workspace_id"),
                ("converted_from", "converted_from_workspace_id"),
            )
            if field in data
        }
        row = services.contact_conversion_update(
            org=key.org,
            contact=contact,
            workspace=key.workspace,
            api_key=key,
            status=data.get("status"),
            converted_by=data.get("converted_by"),
            metadata=data.get("metadata"),
            **kwargs,
        )
        return Response(ContactConversionSerializer(row).data)


class WorkspaceActivityView(ApiView):
    serializer_class = ActivitySerializer

    @extend_schema(
        operation_id="workspaces_activity",
        summary="A workspace's activity log",
        description="Newest first. A workspace's key reads its own workspace's log only.",
        parameters=[
            OpenApiParameter(
                "slug",
                str,
                OpenApiParameter.PATH,
                description="The workspace's slug (its workspace_id).",
                pattern=r"^[-a-zA-Z0-9_]+$",
            )
        ],
        responses={200: ActivitySerializer(many=True), **READ_ERRORS},
    )
    def get(self, request, slug: str):
        self.require_conversions()
        key = self.key
        workspace = Workspace.objects.for_org(key.org).filter(slug=slug).first()
        if workspace is None or (key.workspace_id is not None and workspace.pk != key.workspace_id):
            raise exceptions.NotFound("No such workspace.")
        return self.listing(selectors.activity_list(org=key.org, workspace_id=workspace.pk))


# --- read API --------------------------------------------------------------------------------


def _read_views(name: str, label: str, serializer, rows):
    """The list and detail views of one read-only resource, each with its own schema."""

    @extend_schema(
        operation_id=f"{name.lower()}_list",
        summary=f"List {label}",
        description=f"Newest first; the {label} the key's role may see.",
        responses={200: serializer(many=True), **READ_ERRORS},
    )
    def list_get(self, request):
        return self.listing(rows(self.membership()))

    @extend_schema(
        operation_id=f"{name.lower()}_retrieve",
        summary=f"One of the {label}",
        responses={200: serializer, **READ_ERRORS},
    )
    def detail_get(self, request, pk: int):
        return self.detail(rows(self.membership()), pk)

    base = {"serializer_class": serializer}
    return (
        type(f"{name}ListView", (ApiView,), {**base, "get": list_get}),
        type(f"{name}DetailView", (ApiView,), {**base, "get": detail_get}),
    )


def _contacts(membership):
    return (
        contact_list_for_member(membership=membership)
        .select_related("conversion_status__sent_from", "conversion_status__converted_from")
        .prefetch_related("identifiers")
    )


def _calls(membership):
    return meeting_list_for_member(membership=membership).select_related("closer", "setter")


def _pcfs(membership):
    qs = PostCallForm.objects.for_org(membership.org)
    if not sees_money(membership):
        return qs.none()
    return qs.filter(meeting__in=meeting_list_for_member(membership=membership))


def _deals(membership):
    return deal_list_for_member(membership=membership).select_related("closer", "setter")


def _payments(membership):
    return payment_list_for_member(membership=membership).select_related("closer", "setter")


ContactListView, ContactDetailView = _read_views(
    "Contacts", "contacts", ContactSerializer, _contacts
)
CallListView, CallDetailView = _read_views("Calls", "calls", CallSerializer, _calls)
PcfListView, PcfDetailView = _read_views("Pcfs", "post-call forms", PcfSerializer, _pcfs)
DealListView, DealDetailView = _read_views("Deals", "deals", DealSerializer, _deals)
PaymentListView, PaymentDetailView = _read_views(
    "Payments", "payments", PaymentSerializer, _payments
)


class KpiFilterSerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="Default: the 1st of this month.")
    end = serializers.DateField(required=False, help_text="Default: the month's last day.")
    closer = serializers.EmailField(required=False, help_text="A closer's email.")
    setter = serializers.EmailField(required=False, help_text="A setter's email.")
    source = serializers.RegexField(r"^[^\x00]*$", required=False, max_length=200)
    campaign = serializers.RegexField(r"^[^\x00]*$", required=False, max_length=200)

    def validate(self, attrs):
        if "start" in attrs and "end" in attrs and attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "Is before start."})
        return attrs


@extend_schema_field(
    {"type": "object", "additionalProperties": {"type": ["number", "string", "null"]}}
)
class NumbersField(serializers.DictField):
    pass


KpiSummarySchema = inline_serializer(
    "KpiSummary",
    {
        "period": inline_serializer(
            "KpiPeriod",
            {
                "start": serializers.DateField(),
                "end": serializers.DateField(),
                "timezone": serializers.CharField(),
                "currency": serializers.CharField(),
            },
        ),
        "filters": inline_serializer(
            "KpiFilters",
            {
                name: serializers.CharField(allow_null=True)
                for name in ("closer", "setter", "source", "campaign")
            },
        ),
        "base": NumbersField(help_text="Base counts; money as decimal strings."),
        "kpis": NumbersField(
            help_text="Every KPI: rates as fractions, money as decimal strings, null if undefined."
        ),
    },
)


class KpiSummaryView(ApiView):
    pagination_class = None

    @extend_schema(
        operation_id="kpis_summary",
        summary="KPI summary",
        description="The same document as the dashboard's summary.json; a rep's key gets their own numbers.",
        parameters=[KpiFilterSerializer],
        responses={200: KpiSummarySchema, **READ_ERRORS},
    )
    def get(self, request):
        f = self.filters(KpiFilterSerializer)
        membership = self.membership()
        org = membership.org
        first, last = month_bounds(timezone.localdate(timezone=org.tzinfo))
        start, end = f.get("start", first), f.get("end", last)
        if end < start:
            raise exceptions.ValidationError({"end": ["Is before start."]})
        try:
            document = summary_for(
                membership=membership,
                start=start,
                end=end,
                emails={name: f.get(name) or "" for name in ("closer", "setter")},
                source=f.get("source") or None,
                campaign=f.get("campaign") or None,
            )
        except UnknownTeamMember as exc:
            raise exceptions.ValidationError(
                {exc.role: [f"No {exc.role} with that email in this organisation."]}
            ) from None
        return Response(document)
