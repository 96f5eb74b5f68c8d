import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from apps.integrations import services, webhooks
from apps.integrations.models import Credential, SyncCursor, SyncRun, WebhookEvent
from apps.integrations.providers import CREDENTIAL_NAMES
from apps.orgs.admin_base import OrgScopedAdmin


class CredentialForm(forms.ModelForm):
    # Write-only: the stored value is never sent back to the browser.
    value = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Leave empty to keep the current value.",
    )

    class Meta:
        model = Credential
        fields = ["org", "provider", "name"]

    def clean(self):
        cleaned = super().clean()
        provider, name = cleaned.get("provider"), cleaned.get("name")
        if provider and name and name not in CREDENTIAL_NAMES.get(provider, ()):
            self.add_error("name", f"One of: {', '.join(CREDENTIAL_NAMES.get(provider, ()))}.")
        if not self.instance.pk and not cleaned.get("value"):
            self.add_error("value", "Enter the secret.")
        return cleaned


@admin.register(Credential)
class CredentialAdmin(OrgScopedAdmin):
    form = CredentialForm
    list_display = ["provider", "name", "masked", "updated_at", "updated_by"]
    list_filter = ["provider"]
    search_fields = ["provider", "name"]
    readonly_fields = ["masked", "updated_at", "updated_by"]

    def get_fields(self, request, obj=None):
        return ["org", "provider", "name", "value", "masked", "updated_at", "updated_by"]

    def save_model(self, request, obj, form, change):
        value = form.cleaned_data.get("value")
        if value:
            # The service encrypts and audits; the admin never writes the secret itself.
            saved = services.credential_set(
                org=obj.org,
                provider=obj.provider,
                name=obj.name,
                value=value,
                actor=request.user,
            )
            obj.pk, obj.encrypted_value, obj.hint = saved.pk, saved.encrypted_value, saved.hint
        elif change:
            obj.save(update_fields=["provider", "name"])


@admin.register(WebhookEvent)
class WebhookEventAdmin(OrgScopedAdmin):
    list_display = [
        "received_at",
        "org",
        "provider",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "processed_at",
    ]
    list_filter = ["status", "provider", "event_type", ("received_at", admin.DateFieldListFilter)]
    search_fields = ["event_id", "event_type", "error"]
    date_hierarchy = "received_at"
    list_select_related = ["org"]
    actions = ["replay"]
    fields = [
        "org",
        "provider",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "received_at",
        "processed_at",
        "error",
        "signed_headers",
        "payload",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # only providers add events, through the signed endpoint

    def has_change_permission(self, request, obj=None):
        return False  # the inbox is a record of what arrived; replay is the one thing to do

    @admin.display(description="Headers")
    def signed_headers(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.headers, indent=2, sort_keys=True))

    @admin.display(description="Payload")
    def payload(self, obj):
        # The body holds personal data: only the org's owners and admins (and platform admins)
        # reach this admin at all (OrgScopedAdmin); it is never shown on a page below that.
        try:
            text = json.dumps(json.loads(bytes(obj.body)), indent=2, ensure_ascii=False)
        except ValueError:
            text = bytes(obj.body).decode("utf-8", errors="replace")
        return format_html("<pre>{}</pre>", text)

    @admin.action(description="Replay the selected events (failed or stuck pending)")
    def replay(self, request, queryset):
        replayed = skipped = 0
        for event in queryset.select_related("org"):
            if webhooks.webhook_event_replay(event=event, actor=request.user):
                replayed += 1
            else:
                skipped += 1
        self.message_user(
            request,
            f"Replayed {replayed} event(s); {skipped} already processed left alone.",
            messages.SUCCESS if replayed else messages.WARNING,
        )


@admin.register(SyncCursor)
class SyncCursorAdmin(OrgScopedAdmin):
    list_display = ["provider", "resource", "updated_at"]
    list_filter = ["provider"]
    search_fields = ["resource"]


@admin.register(SyncRun)
class SyncRunAdmin(OrgScopedAdmin):
    list_display = ["started_at", "provider", "status", "fetched", "created", "updated", "failed"]
    list_filter = ["provider", "status"]
    search_fields = ["error"]
    date_hierarchy = "started_at"
