from django import forms
from django.contrib import admin

from apps.integrations import services
from apps.integrations.models import Credential, SyncCursor, SyncRun, WebhookEvent
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
        if provider and name and name not in services.CREDENTIAL_NAMES.get(provider, ()):
            self.add_error(
                "name", f"One of: {', '.join(services.CREDENTIAL_NAMES.get(provider, ()))}."
            )
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
    list_display = ["received_at", "provider", "event_type", "event_id", "status", "attempts"]
    list_filter = ["provider", "status", "event_type"]
    search_fields = ["event_id", "event_type"]
    date_hierarchy = "received_at"
    readonly_fields = ["received_at", "processed_at", "attempts", "error", "event_id"]
    exclude = ["body", "headers"]


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
