from django.contrib import admin

from apps.kpis.forms import AdSpendAdminForm
from apps.kpis.models import AdSpend, DailyRollup, TrafficType
from apps.orgs.admin_base import OrgScopedAdmin, admin_org_ids
from apps.orgs.models import Organization


@admin.register(AdSpend)
class AdSpendAdmin(OrgScopedAdmin):
    """Source and campaign are normalised, the currency checked against the org's and a monthly
    row's date against the 1st, all by ``AdSpend.clean`` (the import runs the same)."""

    form = AdSpendAdminForm
    list_display = ["date", "granularity", "source", "campaign", "amount", "currency", "counted"]
    list_select_related = ["org"]
    readonly_fields = ["source_raw", "campaign_raw"]

    # Rows entered before the currency rule in another currency than the org's are in no figure
    # (there is no rate table yet): say so where they are listed, rather than hide them.
    @admin.display(description="in the KPIs")
    def counted(self, obj):
        if obj.currency == obj.org.currency:
            return "yes"
        return f"no: not in {obj.org.currency}"

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        orgs = admin_org_ids(request)
        if "currency" not in initial and len(orgs) == 1:
            initial["currency"] = Organization.objects.get(pk=next(iter(orgs))).currency
        return initial

    list_filter = ["granularity", "source"]
    search_fields = ["source", "campaign"]
    date_hierarchy = "date"


@admin.register(DailyRollup)
class DailyRollupAdmin(OrgScopedAdmin):
    list_display = ["date", "kind", "grain", "closer", "setter", "source", "campaign"]
    list_filter = ["kind", "grain", "source"]
    search_fields = ["campaign", "source"]
    date_hierarchy = "date"

    # Derived data: rebuilt by the rollup service, never edited by hand.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TrafficType)
class TrafficTypeAdmin(OrgScopedAdmin):
    """Sources are normalised by ``TrafficType.clean`` (the settings page saves through the same)."""

    list_display = ["position", "name", "sources"]
    search_fields = ["name"]
