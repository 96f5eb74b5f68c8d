"""``{{ prediction|win_probability }}``: a stored probability as the lists show it."""

from decimal import Decimal

from django import template

from attribution.kpis.display import EMPTY, format_percent

register = template.Library()


@register.filter
def win_probability(prediction) -> str:
    value = getattr(prediction, "probability", prediction)
    if value is None or value == "":
        return EMPTY
    return format_percent(Decimal(str(value)), 0)
