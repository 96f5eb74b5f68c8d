"""Provider values made storable, in one place for every parser (issue 17).

A signed body can still be hostile or just odd: nested thousands deep, numbers no column holds,
NUL characters (PostgreSQL refuses them in text and jsonb) or lone surrogates (not encodable as
UTF-8), strings longer than their column. Everything here is pure: :func:`load_json` guards the
parse, :func:`clean_text` fixes one string, :func:`clean_json` every string of a parsed body,
:func:`checked_datetime` bounds a time, and :func:`fit_record` fits a parsed record to the limits
of the columns it is saved into.

Why limits are passed in rather than listed here: the column lengths and ``max_digits`` belong
to the Django models, and this package never imports Django. The Django side reads them from
the models' ``_meta`` and hands them over as a :class:`FieldLimits` (apps/integrations/limits.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from attribution.sources.records import ParseError

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_DEPTH",
    "FieldLimits",
    "checked_datetime",
    "clean_json",
    "clean_text",
    "epoch_datetime",
    "fit_record",
    "load_json",
]

# No provider object nests anywhere near this deep (Stripe's deepest is about 8 levels).
MAX_DEPTH = 64
# Times a provider can mean. Outside this window a value is garbage, and arithmetic on it
# (a day later, three hours either side) would overflow datetime.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

# The integers the JSON encoder of bulk writes (orjson) stores; no provider sends larger ones
# (JavaScript cannot even represent them exactly).
_INT_RANGE = (-(2**63), 2**64 - 1)

_SURROGATE = re.compile("[\ud800-\udfff]")
# json.loads pairs valid surrogate escapes itself, so any surrogate left in a str is a lone one.
_REPLACEMENT = "\ufffd"


def clean_text(value: str, max_length: int | None = None) -> str:
    """NUL removed, lone surrogates replaced by U+FFFD, cut to ``max_length`` characters."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value.isascii() and _SURROGATE.search(value):
        value = _SURROGATE.sub(_REPLACEMENT, value)
    if max_length is not None and len(value) > max_length:
        value = value[:max_length]
    return value


def _refuse_constant(name: str) -> float:
    # NaN and Infinity are not JSON, and jsonb refuses them when the payload is stored.
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


def load_json(body: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed body, strings cleaned; ParseError (a 400) for anything that is not storable
    JSON: invalid, nested deeper than ``max_depth``, or holding numbers beyond 64 bits."""
    try:
        value = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise ParseError(f"body is nested deeper than {max_depth} levels") from None
    except ValueError:  # UnicodeDecodeError included; the 4300-digit int limit too
        raise ParseError("body is not valid JSON") from None
    return clean_json(value, max_depth=max_depth)


def clean_json(value: Any, *, max_depth: int = MAX_DEPTH) -> Any:
    """A copy of parsed JSON with every string (keys too) through :func:`clean_text`.

    Recursion is bounded by ``max_depth``: deeper input is a ParseError, never a RecursionError;
    so is an integer beyond 64 bits. Lengths are kept: the raw payload is stored whole.
    """
    return _clean(value, max_depth, 0)


def _clean(value: Any, max_depth: int, depth: int) -> Any:
    if type(value) is str:
        return clean_text(value)
    if isinstance(value, dict | list) and depth >= max_depth:
        raise ParseError(f"body is nested deeper than {max_depth} levels")
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean(v, max_depth, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, max_depth, depth + 1) for v in value]
    if type(value) is int and not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
        raise ParseError("body holds an integer beyond 64 bits")
    return value


def checked_datetime(value: datetime, *, where: str) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ParseError(f"{where} is out of range ({EARLIEST.year} to {LATEST.year})")
    return value


def epoch_datetime(seconds: int | float | Decimal, *, where: str) -> datetime:
    """Unix seconds -> aware UTC; ParseError rather than OverflowError for absurd values."""
    try:
        number = float(seconds)
    except (OverflowError, ValueError):
        number = math.inf
    if not (math.isfinite(number) and EARLIEST.timestamp() <= number < LATEST.timestamp()):
        raise ParseError(f"{where} is out of range ({EARLIEST.year} to {LATEST.year})")
    return datetime.fromtimestamp(number, tz=UTC)


@dataclass(frozen=True)
class FieldLimits:
    """What the columns hold, keyed ``"<record class>.<field>"`` (e.g. "Payment.amount").

    ``text``: max characters; a longer value is cut. ``ids``: max characters of an identifier; a
    longer one is replaced by its SHA-256 (cutting could make two ids one). ``amounts``:
    (max_digits, decimal_places, lowest or None) of a DecimalField; a value that does not fit
    is refused (money is never rounded or cut). ``integers``: (lowest, highest) of an integer
    column; a value outside is treated as missing (a call duration or a deal confidence nobody
    can mean). ``formats``: a check the column's validators make (a URL field); a value that
    fails it is refused, as the service's full_clean() would refuse it after the 2xx.
    """

    text: Mapping[str, int] = field(default_factory=dict)
    ids: Mapping[str, int] = field(default_factory=dict)
    amounts: Mapping[str, tuple[int, int, Decimal | None]] = field(default_factory=dict)
    integers: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    formats: Mapping[str, Callable[[str], bool]] = field(default_factory=dict)


R = TypeVar("R")


def _fit_id(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    return ("sha256:" + hashlib.sha256(value.encode()).hexdigest())[:limit]


def _amount_problem(value: Decimal, max_digits: int, places: int, lowest: Decimal | None):
    if not value.is_finite() or abs(value) >= Decimal(10) ** (max_digits - places):
        return f"is out of range (at most {max_digits - places} digits before the decimal point)"
    if value != value.quantize(Decimal(1).scaleb(-places)):
        return f"has more than {places} decimal places"
    if lowest is not None and value < lowest:
        return f"is below {lowest}"
    return None


def fit_record(record: R, limits: FieldLimits) -> R:
    """``record`` (a parsed dataclass, nested ones and tuples of them included) with every text
    fitted to its column; ParseError naming the field for an amount no column can hold."""
    return _fit(record, limits)


def _fit(value: Any, limits: FieldLimits) -> Any:
    if isinstance(value, tuple):
        fitted = tuple(_fit(item, limits) for item in value)
        return value if all(a is b for a, b in zip(fitted, value, strict=True)) else fitted
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    changes = {}
    owner = type(value).__name__
    for f in dataclasses.fields(value):
        current = getattr(value, f.name)
        key = f"{owner}.{f.name}"
        new = current
        if key in limits.ids:
            new = _fit_strings(current, lambda s, n=limits.ids[key]: _fit_id(s, n))
        elif key in limits.text:
            new = _fit_strings(current, lambda s, n=limits.text[key]: clean_text(s, n))
        elif key in limits.amounts and isinstance(current, Decimal):
            problem = _amount_problem(current, *limits.amounts[key])
            if problem:
                raise ParseError(f"{key} {problem}")
        elif key in limits.integers and isinstance(current, int):
            lowest, highest = limits.integers[key]
            new = current if lowest <= current <= highest else None
        else:
            new = _fit(current, limits)
        if key in limits.formats and isinstance(new, str) and not limits.formats[key](new):
            raise ParseError(f"{key} is not valid for its column")
        if new is not current:
            changes[f.name] = new
    return dataclasses.replace(value, **changes) if changes else value


def _fit_strings(value: Any, fit) -> Any:
    if isinstance(value, str):
        fitted = fit(value)
        return value if fitted == value else fitted
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        fitted = tuple(fit(v) for v in value)
        return value if fitted == value else fitted
    return value
