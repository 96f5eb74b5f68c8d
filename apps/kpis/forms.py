from django import forms

from apps.orgs.admin_base import OrgScopedAdminForm
from apps.orgs.calendar import PeriodForm
from apps.orgs.currency import CurrencyField
from apps.orgs.models import TeamMember


class AdSpendAdminForm(OrgScopedAdminForm):
    currency = CurrencyField(
        help_text="The organisation's currency: spend in another one cannot be converted yet."
    )


class DashboardFilterForm(PeriodForm):
    # Month to date: a whole month's ad spend against four days of cash read as a loss.
    default_preset = "mtd"

    closer = forms.ModelChoiceField(queryset=TeamMember.objects.none(), required=False)
    setter = forms.ModelChoiceField(queryset=TeamMember.objects.none(), required=False)
    source = forms.CharField(required=False)
    campaign = forms.CharField(required=False)
    lead_source = forms.CharField(required=False, max_length=200)
    traffic_type = forms.CharField(required=False, max_length=60)

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        members = TeamMember.objects.filter(org=org)
        self.fields["closer"].queryset = members.filter(is_closer=True)
        self.fields["setter"].queryset = members.filter(is_setter=True)

    def value(self, name):
        self.is_valid()
        return self.cleaned_data.get(name) or None
