"""The currency of money a person types: picked from ISO 4217, never free text."""

from django import forms

from attribution.kpis.display import CURRENCIES


def currency_choices() -> list[tuple[str, str]]:
    return [("", "---------")] + [
        (code, f"{code} ({c.symbol.strip()})" if c.symbol.strip() else code)
        for code, c in CURRENCIES.items()
    ]


class CurrencyField(forms.ChoiceField):
    """An ISO 4217 code picked from a list, for every place a person types a money's currency:
    free text let "dollars" reach the database as "dol"."""

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", currency_choices)
        super().__init__(**kwargs)
