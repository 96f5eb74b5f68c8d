from django import forms

from apps.orgs.currency import CurrencyField
from apps.orgs.models import Organization, Role, User


class OrganizationSettingsForm(forms.ModelForm):
    currency = CurrencyField(help_text="Every KPI, ad spend and payout is in this currency.")

    class Meta:
        model = Organization
        fields = [
            "name",
            "timezone",
            "currency",
            "default_region",
            "assume_show_without_outcome",
            "identifier_share_limit",
        ]


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices)


class OrgSwitchForm(forms.Form):
    org = forms.IntegerField()


class AuditFilterForm(forms.Form):
    """GET filters of the audit page; the choices are the org's own actions and people."""

    action = forms.ChoiceField(required=False)
    actor = forms.ModelChoiceField(queryset=None, required=False, empty_label="Anyone")
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, org, actions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "Any action")] + [(a, a) for a in actions]
        self.fields["actor"].queryset = User.objects.filter(memberships__org=org).order_by("email")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            raise forms.ValidationError("The start date is after the end date.")
        return cleaned
