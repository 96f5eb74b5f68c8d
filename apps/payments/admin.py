import uuid

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from apps.contacts.models import Provider
from apps.orgs.admin_base import OrgScopedAdmin, OrgScopedAdminForm, OrgScopedInlineMixin
from apps.orgs.currency import CurrencyField
from apps.payments.models import (
    CommissionRule,
    CreditBasis,
    CurrencyRate,
    Payment,
    PayoutLine,
    PayoutSnapshot,
    Refund,
)
from apps.payments.selectors import UNASSIGNED
from apps.payments.services import (
    payment_assign,
    payment_edit,
    payment_record_manual,
    payment_unassign,
    refund_delete_manual,
    refund_manual_clean,
    refund_save_manual,
)


class RefundForm(OrgScopedAdminForm):
    currency = CurrencyField()

    def clean(self):
        cleaned = super().clean()
        payment = self.instance.payment if self.instance.payment_id else None
        if payment is not None and self.has_changed() and not self.errors:
            try:
                refund_manual_clean(
                    payment=payment,
                    amount=cleaned.get("amount"),
                    currency=cleaned.get("currency") or "",
                    refund=self.instance,
                )
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


class RefundInline(OrgScopedInlineMixin, admin.TabularInline):
    model = Refund
    form = RefundForm
    extra = 0
    fields = ["amount", "currency", "refunded_at", "provider", "external_id", "reason"]


class UnassignedFilter(admin.SimpleListFilter):
    title = "credit"
    parameter_name = "credit"

    def lookups(self, request, model_admin):
        return [("unassigned", "Waiting for an admin (no deal, no call)"), *CreditBasis.choices]

    def queryset(self, request, queryset):
        if self.value() == "unassigned":
            return queryset.filter(UNASSIGNED)
        if self.value() in CreditBasis.values:
            return queryset.filter(credit_basis=self.value())
        return queryset


class PaymentAdminForm(OrgScopedAdminForm):
    # Only hand-entered payments show it as a field: a provider's currency is read-only.
    currency = CurrencyField()


class CurrencyRateAdminForm(OrgScopedAdminForm):
    currency = CurrencyField()


class RefundAdminForm(OrgScopedAdminForm):
    currency = CurrencyField()


@admin.register(Payment)
class PaymentAdmin(OrgScopedAdmin):
    """Unassigned payments are found with the "credit" filter; editing deal, call, closer or
    setter is an assignment by hand (payment_assign), which automatic credit then respects."""

    form = PaymentAdminForm

    list_display = [
        "paid_at",
        "amount",
        "currency",
        "contact",
        "provider",
        "status",
        "closer",
        "setter",
        "credit_basis",
    ]
    list_filter = [UnassignedFilter, "provider", "status", "currency"]
    search_fields = ["external_id", "charge_id", "contact__primary_email", "contact__last_name"]
    date_hierarchy = "paid_at"
    list_select_related = ["contact", "closer", "setter"]
    raw_id_fields = ["contact", "deal", "meeting"]
    readonly_fields = ["credit_basis", "reported_refunded", "created_at", "updated_at"]
    inlines = [RefundInline]
    actions = ["recredit_automatically"]
    _CREDIT_FIELDS = ("contact", "deal", "meeting", "closer", "setter")

    # What a provider reports stays as the provider reported it: the next event or sync would
    # write it back anyway. Hand-entered payments stay editable.
    _PROVIDER_FIELDS = ("provider", "external_id", "charge_id", "amount", "currency", "paid_at")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return [*fields, "provider", "charge_id"]
        if obj.provider != Provider.MANUAL:
            return [*fields, *self._PROVIDER_FIELDS, "status"]
        return [*fields, "provider", "charge_id"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        chosen = {name: data.get(name) for name in self._CREDIT_FIELDS}
        if not change:
            # Cash entered in admin goes through the same service as a rep's PCF cash.
            payment = payment_record_manual(
                org=data.get("org") or obj.org,
                contact=chosen["contact"],
                amount=data["amount"],
                currency=data["currency"],
                paid_at=data["paid_at"],
                meeting=chosen["meeting"],
                deal=chosen["deal"],
                actor=request.user,
                external_id=data.get("external_id") or f"admin:{uuid.uuid4().hex}",
            )
            obj.pk = payment.pk
            obj._state.adding = False
            obj.refresh_from_db()
            if chosen["closer"] or chosen["setter"]:
                payment_assign(payment=obj, actor=request.user, **chosen)
                obj.refresh_from_db()
            return
        # An edit goes through the service too: validated, and audited with what changed.
        own = [n for n in form.changed_data if n not in self._CREDIT_FIELDS and n != "org"]
        if own:
            payment_edit(
                payment=obj, actor=request.user, changes={n: data[n] for n in own if n in data}
            )
            obj.refresh_from_db()
        if any(name in form.changed_data for name in self._CREDIT_FIELDS):
            payment_assign(payment=obj, actor=request.user, **chosen)
            obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        if formset.model is not Refund:
            return super().save_formset(request, form, formset, change)
        # Refunds typed here go through the same services as the payment's other money.
        refunds = formset.save(commit=False)
        for refund in formset.deleted_objects:
            refund_delete_manual(refund=refund, actor=request.user)
        for refund in refunds:
            refund_save_manual(refund=refund, actor=request.user)
        return None

    @admin.action(description="Hand back to automatic credit (deal, else last attended call)")
    def recredit_automatically(self, request, queryset):
        count = 0
        for payment in queryset:
            payment_unassign(payment=payment, actor=request.user)
            count += 1
        self.message_user(request, f"{count} payment(s) re-credited.", messages.SUCCESS)


@admin.register(Refund)
class RefundAdmin(OrgScopedAdmin):
    form = RefundAdminForm
    list_display = ["refunded_at", "amount", "currency", "payment", "provider", "external_id"]
    list_filter = ["provider"]
    search_fields = ["external_id", "payment_external_id"]
    raw_id_fields = ["payment"]


@admin.register(CurrencyRate)
class CurrencyRateAdmin(OrgScopedAdmin):
    form = CurrencyRateAdminForm
    list_display = ["currency", "rate", "org"]


@admin.register(CommissionRule)
class CommissionRuleAdmin(OrgScopedAdmin):
    list_display = ["team_member", "role", "percent", "product"]
    list_filter = ["role"]
    search_fields = ["team_member__name", "product"]


class PayoutLineInline(OrgScopedInlineMixin, admin.TabularInline):
    model = PayoutLine
    extra = 0
    can_delete = False
    fields = [
        "payment",
        "role",
        "member_name",
        "source",
        "currency",
        "gross_amount",
        "net_amount",
        "percent",
        "commission",
        "is_adjustment",
        "refund",
    ]
    readonly_fields = fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PayoutSnapshot)
class PayoutSnapshotAdmin(OrgScopedAdmin):
    """Read-only: snapshots are made on the payouts page (payout_snapshot_create) and never
    changed or deleted; a new run makes a new snapshot."""

    list_display = ["period_start", "period_end", "currency", "created_by", "created_at"]
    readonly_fields = ["period_start", "period_end", "currency", "summary", "created_by"]
    inlines = [PayoutLineInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
