from django.contrib import admin

from apps.orgs.admin_base import OrgScopedAdmin, OrgScopedInlineMixin
from apps.payments.models import (
    CommissionRule,
    CurrencyRate,
    Payment,
    PayoutLine,
    PayoutSnapshot,
    Refund,
)


class RefundInline(OrgScopedInlineMixin, admin.TabularInline):
    model = Refund
    extra = 0
    fields = ["amount", "currency", "refunded_at", "provider", "external_id", "reason"]


@admin.register(Payment)
class PaymentAdmin(OrgScopedAdmin):
    list_display = ["paid_at", "amount", "currency", "contact", "provider", "status", "closer"]
    list_filter = ["provider", "status", "currency"]
    search_fields = ["external_id", "contact__primary_email", "contact__last_name"]
    date_hierarchy = "paid_at"
    list_select_related = ["contact", "closer"]
    raw_id_fields = ["contact", "deal", "meeting"]
    inlines = [RefundInline]


@admin.register(Refund)
class RefundAdmin(OrgScopedAdmin):
    list_display = ["refunded_at", "amount", "currency", "payment", "provider"]
    list_filter = ["provider"]
    search_fields = ["external_id", "payment_external_id"]
    raw_id_fields = ["payment"]


@admin.register(CurrencyRate)
class CurrencyRateAdmin(OrgScopedAdmin):
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

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PayoutSnapshot)
class PayoutSnapshotAdmin(OrgScopedAdmin):
    list_display = ["period_start", "period_end", "currency", "created_by", "created_at"]
    readonly_fields = ["summary", "created_by"]
    inlines = [PayoutLineInline]

    # Snapshots are immutable: a new run makes a new snapshot.
    def has_change_permission(self, request, obj=None):
        return False
