from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from apps.marketing.forms import (
    CampaignAdminForm,
    CampaignDayAdminForm,
    CampaignDaysUploadForm,
    ChannelMappingAdminForm,
)
from apps.marketing.models import Campaign, CampaignDay, ChannelMapping, Journey, JourneyState
from apps.marketing.services import CampaignDayImportError, campaign_days_import
from apps.orgs.admin_base import OrgScopedAdmin, admin_org_ids
from apps.orgs.models import Organization


@admin.register(ChannelMapping)
class ChannelMappingAdmin(OrgScopedAdmin):
    """utm_source values lower-cased and mapped to a channel (``ChannelMapping.clean``)."""

    form = ChannelMappingAdminForm
    list_display = ["source", "channel", "updated_at"]
    search_fields = ["source", "channel"]


@admin.register(Campaign)
class CampaignAdmin(OrgScopedAdmin):
    form = CampaignAdminForm
    list_display = ["channel", "name", "platform_id", "budget", "start_date", "end_date"]
    list_filter = ["channel"]
    search_fields = ["name", "platform_id"]


@admin.register(CampaignDay)
class CampaignDayAdmin(OrgScopedAdmin):
    """Spend, impressions and clicks per day; ``platform_conversions`` is what the platform
    reports, shown apart from the conversions the attribution page credits."""

    form = CampaignDayAdminForm
    list_display = ["date", "campaign", "spend", "impressions", "clicks", "platform_conversions"]
    list_select_related = ["campaign"]
    list_filter = ["campaign__channel"]
    search_fields = ["campaign__name"]
    date_hierarchy = "date"
    raw_id_fields = ["campaign"]
    change_list_template = "admin/marketing/campaignday/change_list.html"

    def get_urls(self):
        own = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="marketing_campaignday_import",
            )
        ]
        return own + super().get_urls()

    def import_view(self, request):
        """Upload a CSV into one of the user's orgs, through the same service as the page."""
        if not self.has_add_permission(request):
            return redirect("admin:index")
        orgs = Organization.objects.all()
        if not request.user.is_superuser:
            orgs = orgs.filter(pk__in=admin_org_ids(request))
        form = CampaignDaysUploadForm(request.POST or None, request.FILES or None)
        chosen = orgs.filter(pk=request.POST.get("org") or 0).first() if request.POST else None
        if request.method == "POST" and form.is_valid() and chosen is not None:
            try:
                saved = campaign_days_import(
                    org=chosen, file=form.cleaned_data["file"].read(), actor=request.user
                )
            except UnicodeDecodeError:
                self.message_user(request, "The file is not UTF-8 text.", messages.ERROR)
            except CampaignDayImportError as exc:
                for number, message in exc.lines:
                    self.message_user(request, f"line {number}: {message}", messages.ERROR)
                self.message_user(
                    request, f"{len(exc.lines)} error(s); nothing was imported.", messages.ERROR
                )
            else:
                self.message_user(request, f"Imported {len(saved)} campaign day(s).")
                return redirect("admin:marketing_campaignday_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": "Import campaign days",
            "form": form,
            "orgs": orgs,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/marketing/campaignday/import.html", context)


@admin.register(Journey)
class JourneyAdmin(OrgScopedAdmin):
    list_display = ["contact", "kind", "converted_at", "value", "first_touch_at"]
    list_filter = ["kind"]
    raw_id_fields = ["contact"]

    # Derived data: rebuilt by the journey service, never edited by hand.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(JourneyState)
class JourneyStateAdmin(OrgScopedAdmin):
    list_display = ["org", "version", "built_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
