"""The org's calendar: "today", "this month" and a period's bounds in the org's time zone, and
the one form every page taking a period reads it with.

Periods are days in the org's zone, both ends included; the database holds UTC moments, so a
period becomes the half-open range [start 00:00, the day after end 00:00) in that zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from apps.orgs.models import Organization
from attribution.kpis.periods import PRESETS, month_bounds, preset_period

__all__ = ["PeriodForm", "month_bounds", "org_day_start", "org_period_bounds", "org_today"]


def org_today(org: Organization, now: datetime | None = None) -> date:
    """The org's local date at ``now`` (the current moment by default)."""
    return timezone.localtime(now or timezone.now(), org.tzinfo).date()


def org_day_start(org: Organization, day: date) -> datetime:
    """Midnight starting ``day`` in the org's zone, an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=org.tzinfo)


def org_period_bounds(org: Organization, start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in the org's zone: ``end`` is inclusive."""
    return org_day_start(org, start), org_day_start(org, end + timedelta(days=1))


class PeriodForm(forms.Form):
    """A preset (last 7 days, month to date...), a month (YYYY-MM) or any range (start/end, end
    inclusive). A range wins over a month, a month over a preset; ``default_preset`` otherwise.

    Every view that takes a period (the dashboard, the payments and deals ledgers) reads it
    through a subclass of this form, so "this month" and a bad range mean the same everywhere.
    """

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
