from django.contrib import admin

from apps.deals.models import CallActivity, Deal
from apps.orgs.admin_base import OrgScopedAdmin, OrgScopedAdminForm
from apps.orgs.currency import CurrencyField


class DealAdminForm(OrgScopedAdminForm):
    currency = CurrencyField()


@admin.register(Deal)
class DealAdmin(OrgScopedAdmin):
    form = DealAdminForm
    list_display = ["contact", "status", "value", "currency", "closed_at", "closer", "provider"]
    list_filter = ["status", "provider", "value_period"]
    search_fields = ["external_id", "contact__primary_email", "contact__last_name"]
    date_hierarchy = "closed_at"
    list_select_related = ["contact", "closer"]
    raw_id_fields = ["contact", "meeting", "pcf"]


@admin.register(CallActivity)
class CallActivityAdmin(OrgScopedAdmin):
    list_display = ["occurred_at", "contact", "user", "disposition", "outcome"]
    list_filter = ["outcome", "direction"]
    search_fields = ["external_id", "lead_external_id", "contact__primary_email"]
    list_select_related = ["contact", "user"]
    raw_id_fields = ["contact", "meeting"]
