from django import forms

from apps.meetings.models import CallTypeRule, PaymentType
from apps.meetings.services import PCF_FIELDS
from attribution.calls import CustomFieldSpec

MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": 0}
_YES = {"yes", "on", "true", "1"}
_NO = {"no", "off", "false", "0"}


CONFIRM = "confirm_cash_above_contract"


class YesNoField(forms.Field):
    """A question answered Yes or No, with no default: unanswered is None, which the service
    refuses where the answer matters (a pre-ticked box was saved unread on no-shows)."""

    widget = forms.RadioSelect(choices=[("yes", "Yes"), ("no", "No")])

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value):
        text = str(value).strip().lower() if value is not None else ""
        if text in _YES:
            return True
        if text in _NO:
            return False
        if text:
            raise forms.ValidationError("Answer Yes or No.")
        return None

    def prepare_value(self, value):
        if value is True:
            return "yes"
        if value is False:
            return "no"
        return value


class PostCallFormForm(forms.Form):
    """The PCF on the site: parses types; the rules live in meetings.services.pcf_submit."""

    call_occurred = YesNoField(label="Did the call take place?")
    lead_showed = YesNoField(label="Did the lead show?")
    offer_made = YesNoField(label="Was an offer made?")
    deal_closed = YesNoField(label="Did the deal close?")
    cash_collected = forms.DecimalField(required=False, label="Cash collected", **MONEY)
    contract_value = forms.DecimalField(required=False, label="Contract value", **MONEY)
    payment_type = forms.ChoiceField(
        required=False, choices=[("", "—"), *PaymentType.choices], label="Payment type"
    )
    outcome = forms.CharField(required=False, max_length=100, label="Outcome")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    confirm_cash_above_contract = forms.BooleanField(
        required=False, label="Yes, the cash collected is above the contract value"
    )

    def __init__(
        self,
        *args,
        outcomes: list[str] | None = None,
        custom_specs: list[CustomFieldSpec] = (),
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        for field in ("cash_collected", "contract_value"):
            self.fields[field].widget.attrs.update({"inputmode": "decimal", "step": "0.01"})
        if outcomes:
            self.fields["outcome"] = forms.ChoiceField(
                required=False, choices=[("", "—"), *[(o, o) for o in outcomes]], label="Outcome"
            )
        self.custom_specs = list(custom_specs)
        for spec in self.custom_specs:
            self.fields[f"custom_{spec.key}"] = _custom_field(spec)

    def custom_fields(self):
        return [self[f"custom_{spec.key}"] for spec in self.custom_specs]

    def standard_fields(self):
        # The confirmation is only asked once the service has found cash above the contract.
        asked = self.is_bound and (
            self.has_error("confirm_cash_above_contract") or self.data.get(CONFIRM)
        )
        return [
            self[name]
            for name in self.fields
            if not name.startswith("custom_") and (name != CONFIRM or asked)
        ]

    def service_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if not k.startswith("custom_")}
        data["custom"] = {
            spec.key: self.cleaned_data.get(f"custom_{spec.key}") for spec in self.custom_specs
        }
        return data

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for field, messages in errors.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, message)


def _custom_field(spec: CustomFieldSpec) -> forms.Field:
    # The form parses; calls.validate_custom_fields (in the service) enforces "required" and ranges,
    # so a custom field is never required at this layer and every message comes from one place.
    common = {"label": spec.label, "required": False}
    if spec.type == "number":
        return forms.DecimalField(**common)
    if spec.type == "money":
        return forms.DecimalField(max_digits=14, decimal_places=2, **common)
    if spec.type == "select":
        return forms.ChoiceField(choices=[("", "—"), *[(c, c) for c in spec.choices]], **common)
    if spec.type == "checkbox":
        return forms.BooleanField(**common)
    if spec.type == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    return forms.CharField(max_length=500, **common)


def pcf_initial(pcf) -> dict:
    if pcf is None:
        return {}
    initial = {name: getattr(pcf, name) for name in PCF_FIELDS}
    initial.update({f"custom_{k}": v for k, v in (pcf.custom or {}).items()})
    return initial


class CallTypeRuleForm(forms.ModelForm):
    class Meta:
        model = CallTypeRule
        fields = ["event_type_uri", "name_pattern", "call_type", "priority"]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("event_type_uri") and not cleaned.get("name_pattern", "").strip():
            raise forms.ValidationError("Give an event type uri or a name pattern.")
        return cleaned
