from django import forms

from apps.orgs.models import Organization, Role


class OrganizationSettingsForm(forms.ModelForm):
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
