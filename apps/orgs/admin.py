from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.http import Http404

from apps.orgs.admin_base import OrgScopedAdmin, ReadOnlyAdminMixin
from apps.orgs.models import AuditLog, Invitation, Membership, Organization, TeamMember, User
from apps.orgs.services import mfa_reset


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Platform users: superusers only (org admins manage people through memberships)."""

    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_superuser", "is_active", "date_joined"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "name", "password"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    filter_horizontal: list[str] = []

    # Users span organisations, so only platform admins see them; to anyone else the pages do
    # not exist (the same 404 as every row outside one's org).
    def _platform_only(self, request):
        if not request.user.is_superuser:
            raise Http404

    def changelist_view(self, request, extra_context=None):
        self._platform_only(request)
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        self._platform_only(request)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._platform_only(request)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._platform_only(request)
        return super().history_view(request, object_id, extra_context)

    def user_change_password(self, request, id, form_url=""):
        self._platform_only(request)
        return super().user_change_password(request, id, form_url)


# Roles come from memberships; Django's groups would be a second, unused permission system.
admin.site.unregister(Group)


@admin.register(Organization)
class OrganizationAdmin(OrgScopedAdmin):
    list_display = ["name", "slug", "timezone", "currency", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "slug"]}),
        ("Locale", {"fields": ["timezone", "currency", "default_region"]}),
        ("Counting rules", {"fields": ["assume_show_without_outcome", "identifier_share_limit"]}),
        ("Other settings", {"fields": ["settings"], "classes": ["collapse"]}),
    ]

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Membership)
class MembershipAdmin(OrgScopedAdmin):
    list_display = ["user", "org", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__name"]
    list_select_related = ["user", "org"]


@admin.register(TeamMember)
class TeamMemberAdmin(OrgScopedAdmin):
    list_display = ["name", "email", "is_closer", "is_setter", "active", "user"]
    list_filter = ["is_closer", "is_setter", "active"]
    search_fields = ["name", "email", "external_ids"]
    list_select_related = ["user"]


@admin.register(Invitation)
class InvitationAdmin(OrgScopedAdmin):
    list_display = ["email", "role", "org", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role"]
    search_fields = ["email"]
    readonly_fields = ["accepted_at", "invited_by"]


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, OrgScopedAdmin):  # append-only, even for admins
    list_display = ["created_at", "action", "actor", "target_type", "target_id"]
    list_filter = ["action"]
    search_fields = ["action", "target_id", "actor__email"]
    list_select_related = ["actor"]


# allauth's own admin shows every authenticator's data (the encrypted TOTP secret) and deletes
# one at a time without an audit row; this one is for platform admins only, hides the data and
# removes a person's authenticators through the audited service.
admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(admin.ModelAdmin):
    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    fields = ["user", "type", "created_at", "last_used_at"]
    readonly_fields = fields
    actions = ["reset_mfa"]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    # Deleting rows one by one would skip the audit and could leave recovery codes behind.
    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        # Django offers an action only to those with the matching permission (none here), so
        # the one action is listed by hand for platform admins.
        if not self.has_module_permission(request):
            return {}
        return {"reset_mfa": self.get_action("reset_mfa")}

    @admin.action(description="Reset two-factor authentication of these people")
    def reset_mfa(self, request, queryset):
        users = User.objects.filter(pk__in=queryset.values("user_id")).exclude(pk=request.user.pk)
        removed = sum(mfa_reset(user=user, actor=request.user) for user in users)
        self.message_user(
            request,
            f"Reset two-factor authentication of {len(users)} people ({removed} authenticators).",
            messages.SUCCESS,
        )
