"""Money rules for payouts: which commission rule applies, commission maths, summaries.

Pure: Decimal in, Decimal out. Amounts in different currencies are never added together; every
total is kept per currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "CENT",
    "LineFacts",
    "Rule",
    "commission",
    "money_sum",
    "percent_for",
    "summarise",
    "summary_to_json",
]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money_sum(values: Iterable[Decimal]) -> Decimal:
    """Exact sum of money amounts (never floats), quantized to cents."""
    total = ZERO
    for value in values:
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be Decimal, got {type(value).__name__}")
        total += value
    return total.quantize(CENT)


def commission(net: Decimal, percent: Decimal) -> Decimal:
    """``percent`` % of ``net``, rounded half-up to the cent (negative for a clawback)."""
    return (net * percent / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Rule:
    member: object
    role: str
    percent: Decimal
    product: str = ""


def percent_for(
    rules: Sequence[Rule], *, member: object, role: str, product: str = ""
) -> Decimal | None:
    """The rule for this product wins over the member's blanket rule for the role."""
    blanket = None
    for rule in rules:
        if rule.member != member or rule.role != role:
            continue
        if rule.product and rule.product == product:
            return rule.percent
        if not rule.product:
            blanket = rule.percent
    return blanket


@dataclass(frozen=True, slots=True)
class LineFacts:
    currency: str
    role: str  # closer | setter
    member: object  # a key (a TeamMember id) or None
    member_name: str
    source: str
    net: Decimal
    commission: Decimal
    is_adjustment: bool = False


def _bucket() -> dict:
    return {"net": ZERO, "commission": ZERO, "lines": 0}


def summarise(lines: Iterable[LineFacts]) -> dict[str, dict]:
    """Per currency: per closer, per setter, per source, and the totals.

    Each payment has one closer line and one setter line, so the net of a currency (and of a
    source) is counted from the closer lines only, and commission from every line.
    """
    out: dict[str, dict] = {}
    for line in lines:
        cur = out.setdefault(
            line.currency,
            {
                "closers": {},
                "setters": {},
                "sources": {},
                "totals": {"net": ZERO, "commission": ZERO, "adjustments": ZERO, "payments": 0},
            },
        )
        people = cur["closers" if line.role == "closer" else "setters"]
        person = people.setdefault(line.member, {"name": line.member_name, **_bucket()})
        person["net"] += line.net
        person["commission"] += line.commission
        person["lines"] += 1
        source = cur["sources"].setdefault(line.source, _bucket())
        source["commission"] += line.commission
        totals = cur["totals"]
        totals["commission"] += line.commission
        if line.role == "closer":
            source["net"] += line.net
            source["lines"] += 1
            totals["net"] += line.net
            if line.is_adjustment:
                totals["adjustments"] += line.net
            else:
                totals["payments"] += 1
    return out


def summary_to_json(summary: dict[str, dict]) -> dict:
    """JSON-safe: Decimals as exact strings, groups as lists sorted by commission then name."""

    def rows(groups: dict, key_name: str) -> list[dict]:
        items = [
            {
                key_name: key,
                "name": values.get("name", key if isinstance(key, str) else ""),
                "net": str(values["net"]),
                "commission": str(values["commission"]),
                "lines": values["lines"],
            }
            for key, values in groups.items()
        ]
        return sorted(items, key=lambda r: (-Decimal(r["commission"]), str(r["name"])))

    return {
        currency: {
            "closers": rows(data["closers"], "member"),
            "setters": rows(data["setters"], "member"),
            "sources": rows(data["sources"], "source"),
            "totals": {
                "net": str(data["totals"]["net"]),
                "commission": str(data["totals"]["commission"]),
                "adjustments": str(data["totals"]["adjustments"]),
                "payments": data["totals"]["payments"],
            },
        }
        for currency, data in sorted(summary.items())
    }
