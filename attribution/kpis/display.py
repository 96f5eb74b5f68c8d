"""How numbers are shown: one formatter per unit, used by pages, charts and CSV headers alike.

Money carries the currency's symbol and its minor units (ISO 4217: ¥ has none, the dinar three),
percentages one decimal, multiples (ROAS) one decimal and a "×". Nothing here knows Django: the
pages, the charts and the exports call these with the org's currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

__all__ = [
    "CURRENCIES",
    "EMPTY",
    "Currency",
    "currency_for",
    "format_amount",
    "format_change",
    "format_money",
    "format_multiple",
    "format_number",
    "format_percent",
    "money_label",
]

EMPTY = "—"


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    minor_units: int
    symbol: str  # "" for currencies shown by their code

    def prefix(self) -> str:
        if self.symbol:
            return self.symbol
        return f"{self.code} " if self.code else ""


# Active ISO 4217 codes with their minor units; symbols only where one is unambiguous to a
# reader of an English interface (a "$" alone is the US dollar; others carry their country).
_MINOR = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}
_CODES = [
    "AED",
    "AFN",
    "ALL",
    "AMD",
    "ANG",
    "AOA",
    "ARS",
    "AUD",
    "AWG",
    "AZN",
    "BAM",
    "BBD",
    "BDT",
    "BGN",
    "BHD",
    "BIF",
    "BMD",
    "BND",
    "BOB",
    "BRL",
    "BSD",
    "BTN",
    "BWP",
    "BYN",
    "BZD",
    "CAD",
    "CDF",
    "CHF",
    "CLF",
    "CLP",
    "CNY",
    "COP",
    "CRC",
    "CUP",
    "CVE",
    "CZK",
    "DJF",
    "DKK",
    "DOP",
    "DZD",
    "EGP",
    "ERN",
    "ETB",
    "EUR",
    "FJD",
    "FKP",
    "GBP",
    "GEL",
    "GHS",
    "GIP",
    "GMD",
    "GNF",
    "GTQ",
    "GYD",
    "HKD",
    "HNL",
    "HTG",
    "HUF",
    "IDR",
    "ILS",
    "INR",
    "IQD",
    "IRR",
    "ISK",
    "JMD",
    "JOD",
    "JPY",
    "KES",
    "KGS",
    "KHR",
    "KMF",
    "KPW",
    "KRW",
    "KWD",
    "KYD",
    "KZT",
    "LAK",
    "LBP",
    "LKR",
    "LRD",
    "LSL",
    "LYD",
    "MAD",
    "MDL",
    "MGA",
    "MKD",
    "MMK",
    "MNT",
    "MOP",
    "MRU",
    "MUR",
    "MVR",
    "MWK",
    "MXN",
    "MYR",
    "MZN",
    "NAD",
    "NGN",
    "NIO",
    "NOK",
    "NPR",
    "NZD",
    "OMR",
    "PAB",
    "PEN",
    "PGK",
    "PHP",
    "PKR",
    "PLN",
    "PYG",
    "QAR",
    "RON",
    "RSD",
    "RUB",
    "RWF",
    "SAR",
    "SBD",
    "SCR",
    "SDG",
    "SEK",
    "SGD",
    "SHP",
    "SLE",
    "SOS",
    "SRD",
    "SSP",
    "STN",
    "SVC",
    "SYP",
    "SZL",
    "THB",
    "TJS",
    "TMT",
    "TND",
    "TOP",
    "TRY",
    "TTD",
    "TWD",
    "TZS",
    "UAH",
    "UGX",
    "USD",
    "UYI",
    "UYU",
    "UYW",
    "UZS",
    "VED",
    "VES",
    "VND",
    "VUV",
    "WST",
    "XAF",
    "XCD",
    "XCG",
    "XOF",
    "XPF",
    "YER",
    "ZAR",
    "ZMW",
    "ZWG",
]
_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "INR": "₹",
    "KRW": "₩",
    "ILS": "₪",
    "NGN": "₦",
    "PHP": "₱",
    "UAH": "₴",
    "VND": "₫",
    "THB": "฿",
    "TRY": "₺",
    "PLN": "zł ",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "MXN": "MX$",
    "BRL": "R$",
    "HKD": "HK$",
    "SGD": "S$",
    "CHF": "CHF ",
    "ZAR": "R ",
    "CNY": "CN¥",
}


def _build() -> dict[str, Currency]:
    minor = {code: units for units, codes in _MINOR.items() for code in codes.split()}
    return {
        code: Currency(code, minor.get(code, 2), _SYMBOLS.get(code, "")) for code in sorted(_CODES)
    }


CURRENCIES: dict[str, Currency] = _build()


def currency_for(code: str | None) -> Currency:
    """The currency of an ISO code; an unknown code is shown by its code with two decimals."""
    code = (code or "").strip().upper()
    return CURRENCIES.get(code) or Currency(code, 2, "")


def _rounded(value: Decimal, places: int) -> Decimal:
    quantum = Decimal(1).scaleb(-places)
    with localcontext() as ctx:
        ctx.prec = 34
        rounded = Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)
    return abs(rounded) if rounded == 0 else rounded  # no "-0.00"


def format_money(value: Decimal | int | float | None, currency: str | None) -> str:
    """ "$12,500.00", "-€3,943.00", "¥12,500", "KWD 1.500"; "—" without a value."""
    if value is None:
        return EMPTY
    cur = currency_for(currency)
    rounded = _rounded(Decimal(str(value)), cur.minor_units)
    text = f"{abs(rounded):,.{cur.minor_units}f}"
    return f"{'-' if rounded < 0 else ''}{cur.prefix()}{text}"


def format_amount(value: Decimal | int | float | None, currency: str | None) -> str:
    """Money without its symbol, for a column whose title carries it: "12,500.00", "12,500" (¥)."""
    if value is None:
        return EMPTY
    places = currency_for(currency).minor_units
    return f"{_rounded(Decimal(str(value)), places):,.{places}f}"


def format_percent(ratio: Decimal | None, decimals: int = 1) -> str:
    """A ratio as a percentage: 0.75 -> "75.0%"."""
    if ratio is None:
        return EMPTY
    return f"{_rounded(Decimal(ratio) * 100, decimals):,.{decimals}f}%"


def format_multiple(ratio: Decimal | None, decimals: int = 2) -> str:
    """A ratio as a multiple, the convention for ROAS: 0.68 -> "0.68×", 40 -> "40.00×"."""
    if ratio is None:
        return EMPTY
    return f"{_rounded(Decimal(ratio), decimals):,.{decimals}f}×"


def format_number(value: Decimal | int | None, decimals: int = 0) -> str:
    if value is None:
        return EMPTY
    return f"{_rounded(Decimal(value), decimals):,.{decimals}f}"


def money_label(label: str, currency: str | None) -> str:
    """A column or axis title for money: "Cash ($)", "Cash (CHF)"."""
    cur = currency_for(currency)
    return f"{label} ({cur.symbol.strip() or cur.code})"


def format_change(
    current: Decimal | int | None, previous: Decimal | int | None, *, unit: str
) -> tuple[str, int] | None:
    """The change against the previous period as (text, direction -1/0/1), or None.

    Rates change in percentage points ("+4.2 pts": a show rate going from 50% to 55% is not a
    10% change to a manager); counts, money and multiples in percent of the previous value.
    No previous value, or a previous zero for a relative change, gives None: "∞%" says nothing.
    """
    if current is None or previous is None:
        return None
    current, previous = Decimal(current), Decimal(previous)
    delta = current - previous
    direction = (delta > 0) - (delta < 0)
    if unit == "percent":
        points = _rounded(delta * 100, 1)
        return f"{'+' if points > 0 else ''}{points:,.1f} pts", direction
    if previous == 0:
        return None
    change = _rounded(delta / abs(previous) * 100, 1)
    return f"{'+' if change > 0 else ''}{change:,.1f}%", direction
