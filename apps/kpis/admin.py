from django.contrib import admin

from apps.kpis.models import AdSpend, DailyRollup
from apps.orgs.admin_base import OrgScopedAdmin


@admin.register(AdSpend)
class AdSpendAdmin(OrgScopedAdmin):
    list_display = ["date", "granularity", "source", "campaign", "amount", "currency"]
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
