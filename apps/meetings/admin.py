from django import forms
from django.contrib import admin

from apps.meetings import services
from apps.meetings.models import (
    CallTypeRule,
    HostAvailabilityWeek,
    Meeting,
    PostCallForm,
    PostCallFormConfig,
)
from apps.orgs.admin_base import OrgScopedAdmin, OrgScopedAdminForm, ReadOnlyAdminMixin
from attribution.calls import parse_custom_field_specs


@admin.register(CallTypeRule)
class CallTypeRuleAdmin(OrgScopedAdmin):
    list_display = ["priority", "event_type_uri", "name_pattern", "call_type"]
    list_filter = ["call_type"]
    search_fields = ["event_type_uri", "name_pattern"]


@admin.register(Meeting)
class MeetingAdmin(OrgScopedAdmin):
    list_display = [
        "scheduled_at",
        "call_type",
        "status",
        "contact",
        "closer",
        "setter",
        "event_name",
    ]
    list_filter = ["call_type", "status", "provider"]
    search_fields = ["external_id", "event_name", "contact__primary_email", "contact__last_name"]
    date_hierarchy = "scheduled_at"
    list_select_related = ["contact", "closer", "setter"]
    raw_id_fields = ["contact", "rescheduled_to"]
    actions = ["recompute_showed", "reassign_credit"]

    @admin.action(description="Re-resolve “showed” (PCF, CRM outcome, cancellation, default)")
    def recompute_showed(self, request, queryset):
        for meeting in queryset.select_related("org"):
            services.meeting_recompute_showed(meeting=meeting)
        self.message_user(request, f"{queryset.count()} call(s) re-resolved.")

    @admin.action(description="Re-assign closer and setter credit")
    def reassign_credit(self, request, queryset):
        for meeting in queryset.select_related("org"):
            services.meeting_assign_credit(meeting=meeting)
        self.message_user(request, f"{queryset.count()} call(s) re-credited.")


@admin.register(PostCallForm)
class PostCallFormAdmin(OrgScopedAdmin):
    list_display = [
        "meeting",
        "author",
        "lead_showed",
        "offer_made",
        "deal_closed",
        "cash_collected",
        "submitted_at",
        "locked_at",
    ]
    list_filter = ["lead_showed", "offer_made", "deal_closed", "payment_type"]
    search_fields = ["meeting__contact__primary_email", "author__name", "notes"]
    list_select_related = ["meeting__contact", "author"]
    raw_id_fields = ["meeting"]
    actions = ["lock", "unlock"]

    @admin.action(description="Lock the selected forms")
    def lock(self, request, queryset):
        for pcf in queryset.select_related("org"):
            services.pcf_lock(pcf=pcf, actor=request.user)
        self.message_user(request, f"{queryset.count()} form(s) locked.")

    @admin.action(description="Unlock the selected forms")
    def unlock(self, request, queryset):
        for pcf in queryset.select_related("org"):
            services.pcf_unlock(pcf=pcf, actor=request.user)
        self.message_user(request, f"{queryset.count()} form(s) unlocked.")


class PostCallFormConfigForm(OrgScopedAdminForm):
    def clean_custom_fields(self):
        value = self.cleaned_data.get("custom_fields")
        try:
            parse_custom_field_specs(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return value

    def clean_outcomes(self):
        value = self.cleaned_data.get("outcomes")
        if value and not (isinstance(value, list) and all(isinstance(o, str) for o in value)):
            raise forms.ValidationError('Outcomes are a list of texts, e.g. ["Won", "Follow-up"].')
        return value


@admin.register(PostCallFormConfig)
class PostCallFormConfigAdmin(OrgScopedAdmin):
    form = PostCallFormConfigForm
    list_display = ["org"]


@admin.register(HostAvailabilityWeek)
class HostAvailabilityWeekAdmin(ReadOnlyAdminMixin, OrgScopedAdmin):  # written by the Calendly sync
    list_display = ["week_start", "host", "available_slots", "available_minutes", "slot_minutes"]
    list_filter = ["week_start"]
    list_select_related = ["host"]
