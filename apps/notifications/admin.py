"""Admin pages of the notifications: channels per kind (with a test message), the delivery
log, the org's report time and alert thresholds, and reps (Slack user, statement link)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from apps.notifications import services
from apps.notifications.models import (
    Channel,
    Delivery,
    Kind,
    NotificationSettings,
    Rep,
    RepSlackUser,
)
from apps.orgs.admin_base import (
    OrgScopedAdmin,
    OrgScopedAdminForm,
    OrgScopedInlineMixin,
    ReadOnlyAdminMixin,
)


class ChannelForm(OrgScopedAdminForm):
    # Write-only: the stored webhook URL or token is never sent back to the browser.
    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        label="Webhook URL or bot token",
        help_text="Slack only. Leave empty to keep the current one.",
    )
    kinds = forms.MultipleChoiceField(
        choices=Kind.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Channel
        fields = ["org", "name", "type", "kinds", "slack_channel", "email_to", "active"]

    def _post_clean(self):
        super()._post_clean()
        try:
            services.channel_clean(channel=self.instance, secret=self.cleaned_data.get("secret"))
        except ValidationError as exc:
            self._update_errors(exc)


@admin.register(Channel)
class ChannelAdmin(OrgScopedAdmin):
    form = ChannelForm
    list_display = ["name", "type", "kinds_display", "active", "masked", "broken_at"]
    list_filter = ["type", "active"]
    search_fields = ["name", "slack_channel"]
    readonly_fields = ["masked", "broken_at", "broken_reason", "updated_at"]
    actions = ["send_test"]
    fieldsets = [
        (None, {"fields": ["org", "name", "type", "active", "kinds"]}),
        ("Slack", {"fields": ["secret", "masked", "slack_channel"]}),
        ("Email", {"fields": ["email_to"]}),
        ("State", {"fields": ["broken_at", "broken_reason", "updated_at"]}),
    ]

    @admin.display(description="Kinds")
    def kinds_display(self, obj):
        labels = dict(Kind.choices)
        return ", ".join(labels.get(k, k) for k in obj.kinds or []) or "—"

    def save_model(self, request, obj, form, change):
        # The service encrypts and audits; the admin never writes the secret itself.
        services.channel_save(
            channel=obj, secret=form.cleaned_data.get("secret"), actor=request.user
        )

    @admin.action(description="Send a test message to the selected channels")
    def send_test(self, request, queryset):
        for channel in queryset.select_related("org"):
            try:
                delivery = services.channel_send_test(channel=channel, actor=request.user)
            except services.NotificationError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            if delivery.status == Delivery.Status.SENT:
                self.message_user(
                    request, f"Test message sent to {channel.name}.", messages.SUCCESS
                )
            else:
                self.message_user(
                    request, f"{channel.name}: not sent ({delivery.error}).", messages.ERROR
                )


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, OrgScopedAdmin):
    list_display = [
        "created_at",
        "kind",
        "subject",
        "period",
        "target",
        "status",
        "attempts",
        "error",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["subject", "period", "target", "error"]
    date_hierarchy = "created_at"


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(OrgScopedAdmin):
    list_display = [
        "org",
        "daily_report_time",
        "pcf_reminders",
        "webhook_rejection_threshold",
        "inbox_backlog_minutes",
    ]


class RepSlackUserInline(OrgScopedInlineMixin, admin.TabularInline):
    model = RepSlackUser
    fk_name = "team_member"
    fields = ["slack_user_id"]
    extra = 1
    max_num = 1


@admin.register(Rep)
class RepAdmin(OrgScopedAdmin):
    list_display = ["name", "email", "is_closer", "is_setter", "slack_user_display"]
    list_filter = ["is_closer", "is_setter", "active"]
    search_fields = ["name", "email"]
    fields = ["name", "email"]
    readonly_fields = ["name", "email"]
    inlines = [RepSlackUserInline]
    actions = ["send_statement_links"]

    def has_add_permission(self, request):
        return False  # reps are added on the roster (Team members)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Slack user")
    def slack_user_display(self, obj):
        try:
            return obj.slack_user.slack_user_id
        except RepSlackUser.DoesNotExist:
            return "—"

    @admin.action(description="Send each selected rep a link to their commission statement")
    def send_statement_links(self, request, queryset):
        reached = 0
        for org_id in sorted(set(queryset.values_list("org_id", flat=True))):
            members = list(queryset.filter(org_id=org_id).select_related("org", "user"))
            sent, unreachable = services.statement_links_send(
                org=members[0].org, members=members, actor=request.user
            )
            reached += sent
            if unreachable:
                self.message_user(
                    request,
                    f"No email or Slack user for: {', '.join(unreachable)}.",
                    messages.WARNING,
                )
        self.message_user(request, f"Statement links sent to {reached} rep(s).", messages.SUCCESS)
