from datetime import date

from django import forms

from apps.kpis.selectors import month_bounds
from apps.orgs.admin_base import OrgScopedAdminForm
from apps.orgs.currency import CurrencyField
from apps.orgs.models import TeamMember
from attribution.kpis.periods import PRESETS, preset_period


class AdSpendAdminForm(OrgScopedAdminForm):
    currency = CurrencyField(
        help_text="The organisation's currency: spend in another one cannot be converted yet."
    )


class PeriodForm(forms.Form):
    """A preset (last 7 days, month to date...), a month (YYYY-MM) or any range (start/end, end
    inclusive). A range wins over a month, a month over a preset; ``default_preset`` otherwise."""

    default_preset = "month"  # the current month, whole
    preset = forms.ChoiceField(required=False, choices=PRESETS)
    month = forms.CharField(required=False)
    start = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    end = forms.DateField(required=False, input_formats=["%Y-%m-%d"])

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_month(self):
        value = self.cleaned_data["month"].strip()
        if not value:
            return None
        try:
            year, month = (int(part) for part in value.split("-"))
            return date(year, month, 1)
        except ValueError:
            raise forms.ValidationError("Enter a month as YYYY-MM.") from None

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if self.errors:
            return data
        if start or end:
            if not (start and end):
                missing = "end" if start else "start"
                self.add_error(missing, "Give both start and end.")
            elif end < start:
                self.add_error("end", "The end is before the start.")
            elif (end - start).days > 3700:
                self.add_error("end", "The range is longer than ten years.")
        return data

    def period(self) -> tuple[date, date]:
        self.is_valid()  # a bad field is dropped from cleaned_data; the good ones still apply
        data = self.cleaned_data
        if data.get("start") and data.get("end"):
            return data["start"], data["end"]
        if data.get("month"):
            return month_bounds(data["month"])
        preset = self.preset_value()
        if preset in ("month", "custom"):
            return month_bounds(self.today)
        return preset_period(preset, self.today)

    def preset_value(self) -> str:
        """The preset the period came from: "custom" for a range, "month" for a month."""
        self.is_valid()
        data = self.cleaned_data
        if data.get("start") and data.get("end"):
            return "custom"
        if data.get("month"):
            return "month"
        return data.get("preset") or self.default_preset


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
