"""``{{ amount|money:currency }}``: every page shows money the way the dashboard does
(attribution.kpis.display: the currency's symbol and minor units, thousands grouped)."""

from django import template

from attribution.kpis.display import format_amount, format_money

register = template.Library()


@register.filter
def money(value, currency=None):
    if value in (None, ""):
        return "—"
    return format_money(value, currency)


@register.filter
def amount(value, currency=None):
    """Without the symbol, for a table whose column title names the currency."""
    if value in (None, ""):
        return "—"
    return format_amount(value, currency)
