from django import forms

from apps.kpis.forms import PeriodForm
from apps.marketing.models import Campaign, CampaignDay, ChannelMapping
from apps.marketing.selectors import MODEL_NAMES, Query
from apps.orgs.admin_base import OrgScopedAdminForm

MODEL_LABELS = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "last_non_direct": "Last non-direct",
    "linear": "Linear",
    "time_decay": "Time decay",
    "position_based": "Position based (U)",
    "w_shaped": "W-shaped (call milestones)",
    "markov": "Data-driven: Markov",
    "shapley": "Data-driven: Shapley",
}
VALUE_LABELS = {"net_cash": "Net cash", "revenue": "Revenue"}
DEFAULT_LOOKBACK = 90


def default_lookback(org) -> int:
    return int((org.settings or {}).get("attribution_lookback_days", DEFAULT_LOOKBACK))


class AttributionFilterForm(PeriodForm):
    default_preset = "month"

    model = forms.ChoiceField(
        required=False,
        choices=[(name, MODEL_LABELS[name]) for name in MODEL_NAMES] + [("compare", "Compare")],
    )
    value = forms.ChoiceField(required=False, choices=list(VALUE_LABELS.items()))
    lookback = forms.IntegerField(required=False, min_value=1, max_value=730)

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org

    def choice(self, name: str, default):
        self.is_valid()
        return self.cleaned_data.get(name) or default

    def query(self) -> tuple[Query, bool]:
        """The selector's query, and whether every model is compared."""
        start, end = self.period()
        model = self.choice("model", "linear")
        compare = model == "compare"
        return (
            Query(
                start=start,
                end=end,
                model="linear" if compare else model,
                value=self.choice("value", "net_cash"),
                lookback_days=self.choice("lookback", default_lookback(self.org)),
            ),
            compare,
        )


class ChannelMappingForm(forms.Form):
    source = forms.CharField(max_length=200, label="utm_source")
    channel = forms.CharField(max_length=100)


class CampaignDaysUploadForm(forms.Form):
    file = forms.FileField(
        help_text="A Meta Ads Manager or Google Ads export, or date,channel,campaign,spend,"
        "impressions,clicks."
    )


class ChannelMappingAdminForm(OrgScopedAdminForm):
    class Meta:
        model = ChannelMapping
        fields = "__all__"


class CampaignAdminForm(OrgScopedAdminForm):
    class Meta:
        model = Campaign
        fields = "__all__"


class CampaignDayAdminForm(OrgScopedAdminForm):
    class Meta:
        model = CampaignDay
        fields = "__all__"
