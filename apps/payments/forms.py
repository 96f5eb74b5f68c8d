from datetime import date

from django import forms

from apps.contacts.models import Provider
from apps.orgs.access import is_rep, rep_team_member
from apps.orgs.calendar import PeriodForm
from apps.orgs.models import TeamMember
from apps.payments.selectors import STATUS_CHOICES


class LedgerFilterForm(PeriodForm):
    """Period (a month or a range), closer, setter, provider and status; bad values are dropped."""

    closer = forms.ModelChoiceField(queryset=TeamMember.objects.none(), required=False)
    setter = forms.ModelChoiceField(queryset=TeamMember.objects.none(), required=False)
    provider = forms.ChoiceField(choices=[("", "All"), *Provider.choices], required=False)
    status = forms.ChoiceField(choices=[("", "All"), *STATUS_CHOICES], required=False)

    def __init__(self, *args, org, membership=None, **kwargs):
        super().__init__(*args, **kwargs)
        members = TeamMember.objects.filter(org=org)
        if membership is not None and is_rep(membership):
            # A rep's ledger holds only rows credited to them: a teammate in the list could only
            # ever filter it down to nothing.
            me = rep_team_member(membership)
            members = members.filter(pk=me.pk) if me is not None else members.none()
        self.fields["closer"].queryset = members.filter(is_closer=True)
        self.fields["setter"].queryset = members.filter(is_setter=True)

    def filters(self):
        from apps.payments.selectors import LedgerFilters

        start, end = self.period()
        return LedgerFilters(
            start=start,
            end=end,
            closer=self.value("closer"),
            setter=self.value("setter"),
            provider=self.value("provider") or "",
            status=self.value("status") or "",
        )

    def value(self, name):
        self.is_valid()
        return self.cleaned_data.get(name) or None


class PayoutSnapshotForm(forms.Form):
    start = forms.DateField(input_formats=["%Y-%m-%d"])
    end = forms.DateField(input_formats=["%Y-%m-%d"])

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The end is before the start.")
        if start and end and (end - start).days > 400:
            self.add_error("end", "A payout period is at most about a year.")
        return data

    def period(self) -> tuple[date, date]:
        return self.cleaned_data["start"], self.cleaned_data["end"]
