"""Admin: workspaces, keys (revocable, never shown: new keys are made on the site's API page or
with ``manage.py create_api_key``), conversions and the activity log, read-only."""

from django.contrib import admin

from apps.api.models import Activity, ApiKey, Conversion, Workspace
from apps.api.services import api_key_revoke
from apps.orgs.admin_base import OrgScopedAdmin


class _ReadOnly(OrgScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Workspace)
class WorkspaceAdmin(_ReadOnly):
    list_display = ["name", "slug", "org", "permissions", "created_at"]
    search_fields = ["name", "slug"]


@admin.register(ApiKey)
class ApiKeyAdmin(_ReadOnly):
    list_display = ["prefix", "name", "org", "workspace", "user", "scopes", "expires_at",
                    "last_used_at", "revoked_at"]  # fmt: skip
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name"]
    exclude = ["digest"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        revoked = sum(api_key_revoke(org=key.org, key=key, actor=request.user) for key in queryset)
        self.message_user(request, f"{revoked} key(s) revoked.")

    def has_change_permission(self, request, obj=None):
        # The revoke action needs it; every field stays read-only.
        return self._may(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "digest"]


@admin.register(Conversion)
class ConversionAdmin(_ReadOnly):
    list_display = ["converted_at", "conversion_type", "conversion_value", "currency",
                    "workspace", "contact", "org"]  # fmt: skip
    list_filter = ["conversion_type"]
    search_fields = ["external_id", "lead_id", "converted_by"]
    raw_id_fields = ["contact", "touchpoint", "api_key"]
    date_hierarchy = "converted_at"


@admin.register(Activity)
class ActivityAdmin(_ReadOnly):
    list_display = ["created_at", "workspace", "action", "target_type", "target_id", "org"]
    list_filter = ["action"]
