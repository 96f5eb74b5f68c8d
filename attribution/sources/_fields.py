"""Small readers shared by the parsers: required fields, times, money."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from attribution.sources.clean import checked_datetime, clean_text, epoch_datetime
from attribution.sources.records import ParseError

_MISSING = object()

# Stripe and Whop amounts: most currencies have 2 minor digits; these are the exceptions Stripe
# documents (zero-decimal; three-decimal amounts are sent in thousandths).
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])


def mapping(value: object, *, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ParseError(f"{where} is missing or not an object")
    return value


def lookup(data: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """``a.b.c`` through nested objects; a literal dotted key (``custom.cf_x``) wins first."""
    if path in data:
        return data[path]
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return default
        current = current[part]
    return current


def required(data: Mapping[str, Any], path: str, *, where: str) -> Any:
    value = lookup(data, path, _MISSING)
    if value is _MISSING or value is None or value == "":
        raise ParseError(f"{where}.{path} is missing")
    return value


def required_str(data: Mapping[str, Any], path: str, *, where: str) -> str:
    value = text(required(data, path, where=where))
    if value is None:
        raise ParseError(f"{where}.{path} is missing or not a string")
    return value


def text(value: object) -> str | None:
    """A trimmed, storable string (clean.clean_text), or None for null/empty (providers send ""
    and null interchangeably) and for objects and lists, which are no text."""
    if type(value) is str:  # nearly every call: skips the ABC checks
        return clean_text(value).strip() or None
    if value is None or isinstance(value, Mapping | list | tuple):
        return None
    result = clean_text(str(value)).strip()
    return result or None


def items(value: object) -> list[Any]:
    """A JSON list, or [] for anything else: a scalar or an object where a list belongs is
    read as no entries rather than iterated (a TypeError, or the characters of a string)."""
    return value if isinstance(value, list) else []


def texts(values: Iterable[object]) -> tuple[str, ...]:
    seen: list[str] = []
    for value in values:
        item = text(value)
        if item and item not in seen:
            seen.append(item)
    return tuple(seen)


def id_of(value: object) -> str | None:
    """Stripe/Whop fields are an id or, when expanded, an object carrying the id."""
    if isinstance(value, Mapping):
        return text(value.get("id"))
    return text(value)


def parse_datetime(value: object, *, where: str) -> datetime:
    """ISO 8601 (``Z`` or offset; naive means UTC, as Close sends) or unix seconds -> aware UTC,
    between clean.EARLIEST and clean.LATEST (ParseError otherwise, never an OverflowError)."""
    if isinstance(value, bool) or value is None or value == "":
        raise ParseError(f"{where} is missing")
    if isinstance(value, int | float | Decimal):
        return epoch_datetime(value, where=where)
    if not isinstance(value, str):
        raise ParseError(f"{where} is not a timestamp")
    raw = value.strip()
    if raw.isascii() and raw.isdigit():
        return epoch_datetime(int(raw) if len(raw) < 20 else float("inf"), where=where)
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # year 9999 west of UTC overflows on conversion
        raise ParseError(f"{where} is not a timestamp") from None
    return checked_datetime(parsed, where=where)


def optional_datetime(value: object, *, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    return parse_datetime(value, where=where)


def optional_date(value: object, *, where: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise ParseError(f"{where} is not a date") from None
        checked_datetime(datetime(day.year, day.month, day.day, tzinfo=UTC), where=where)
        return day
    return parse_datetime(value, where=where).date()


def currency_code(value: object, *, where: str) -> str:
    code = text(value)
    if not code or len(code) != 3 or not code.isalpha():
        raise ParseError(f"{where} is missing or not an ISO currency code")
    return code.upper()


def exponent(currency: str) -> int:
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def from_minor_units(value: object, currency: str, *, where: str) -> Decimal:
    """Stripe-style integer amounts: 250000 USD -> 2500.00, 5000 JPY -> 5000."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise ParseError(f"{where} is missing or not an integer amount")
    try:
        minor = Decimal(value)
        if minor != minor.to_integral_value():
            raise ParseError(f"{where} is not an integer amount")
        return (minor.scaleb(-exponent(currency))).quantize(_quantum(currency))
    except (InvalidOperation, ValueError) as exc:
        if isinstance(exc, ParseError):
            raise
        # Not a number, or one too large to quantize ("1e999999"): no column holds it.
        raise ParseError(f"{where} is not an amount in range") from None


def from_major_units(value: object, currency: str, *, where: str) -> Decimal:
    """Decimal amounts in major units (Whop): 10.43 -> Decimal("10.43")."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ParseError(f"{where} is missing or not an amount")
    try:
        # str() first: Decimal(10.43) would carry the binary float's representation error.
        amount = Decimal(str(value))
        if not amount.is_finite():
            raise ParseError(f"{where} is not an amount")
        places = max(exponent(currency), -amount.as_tuple().exponent)  # type: ignore[operator]
        return amount.quantize(Decimal(1).scaleb(-places))
    except (InvalidOperation, ValueError) as exc:
        if isinstance(exc, ParseError):
            raise
        raise ParseError(f"{where} is not an amount in range") from None
