from django import forms

from apps.integrations.providers import CREDENTIAL_NAMES, provider_choices


class CredentialForm(forms.Form):
    """Sets one provider secret. Write-only: a stored value is never sent back to the browser."""

    provider = forms.ChoiceField(choices=provider_choices)
    name = forms.ChoiceField(
        choices=sorted({(n, n) for names in CREDENTIAL_NAMES.values() for n in names})
    )
    value = forms.CharField(
        widget=forms.PasswordInput(render_value=False), strip=True, max_length=2000
    )

    def clean(self):
        cleaned = super().clean()
        provider, name = cleaned.get("provider"), cleaned.get("name")
        if provider and name and name not in CREDENTIAL_NAMES[provider]:
            self.add_error("name", f"One of: {', '.join(CREDENTIAL_NAMES[provider])}.")
        return cleaned
