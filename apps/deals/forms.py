from django import forms

from apps.deals.models import Deal
from apps.payments.forms import LedgerFilterForm


class DealFilterForm(LedgerFilterForm):
    status = forms.ChoiceField(choices=[("", "All"), *Deal.Status.choices], required=False)
