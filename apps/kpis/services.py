"""KPI writes: the daily rollups (refresh, nightly rebuild, consistency check) and ad spend import."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DateField, Sum
from django.db.models.functions import Trunc
from django.utils import timezone

from apps.kpis.models import AdSpend, DailyRollup
from apps.kpis.selectors import ROLLUP_COUNTS, month_bounds, rollup_rows_raw
from apps.orgs.models import Organization
from attribution.kpis.display import CURRENCIES

__all__ = [
    "AdSpendImportError",
    "RollupDifference",
    "ad_spend_import",
    "rollup_check",
    "rollup_days_for",
    "rollup_rebuild",
    "rollup_refresh_days",
]

KINDS = tuple(DailyRollup.Kind.values)
BATCH = 5000


def rollup_days_for(*, org: Organization, moments: Iterable[datetime | date | None]) -> set[date]:
    """The org-local days that datetimes (or dates) fall on: what a change touched."""
    days = set()
    for moment in moments:
        if moment is None:
            continue
        if isinstance(moment, datetime):
            days.add(timezone.localtime(moment, org.tzinfo).date())
        else:
            days.add(moment)
    return days


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and (day - runs[-1][1]).days == 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _day_rows(*, org, ranges) -> list[DailyRollup]:
    rows = []
    for kind in KINDS:
        for (day, closer, setter, source, campaign), values in rollup_rows_raw(
            org=org, ranges=ranges, kind=kind
        ).items():
            if not any(values.values()):
                continue
            rows.append(
                DailyRollup(
                    org=org,
                    kind=kind,
                    grain=DailyRollup.Grain.DAY,
                    date=day,
                    closer_id=closer,
                    setter_id=setter,
                    source=source,
                    campaign=campaign,
                    **values,
                )
            )
    return rows


def _rebuild_months(*, org, months: list[date] | None) -> int:
    """Month rows are sums of the month's day rows, so they can never disagree with them."""
    day_rows = DailyRollup.objects.filter(org=org, grain=DailyRollup.Grain.DAY)
    month_rows = DailyRollup.objects.filter(org=org, grain=DailyRollup.Grain.MONTH)
    if months is not None:
        day_rows = day_rows.filter(date__gte=min(months), date__lte=month_bounds(max(months))[1])
        month_rows = month_rows.filter(date__in=months)
    month_rows.delete()
    grouped = (
        day_rows.values(
            "kind",
            "closer_id",
            "setter_id",
            "source",
            "campaign",
            month=Trunc("date", "month", output_field=DateField()),
        )
        .annotate(**{f"s_{name}": Sum(name) for name in ROLLUP_COUNTS})
        .order_by()
    )
    wanted = set(months) if months is not None else None
    created = []
    for row in grouped.iterator(chunk_size=BATCH):
        if wanted is not None and row["month"] not in wanted:
            continue
        created.append(
            DailyRollup(
                org=org,
                kind=row["kind"],
                grain=DailyRollup.Grain.MONTH,
                date=row["month"],
                closer_id=row["closer_id"],
                setter_id=row["setter_id"],
                source=row["source"],
                campaign=row["campaign"],
                **{name: row[f"s_{name}"] for name in ROLLUP_COUNTS},
            )
        )
    DailyRollup.objects.bulk_create(created, batch_size=BATCH)
    return len(created)


def _lock(org: Organization) -> None:
    # One refresher per org at a time: two tasks for the same day would otherwise both delete
    # and then both insert, and the second insert would hit the unique key.
    Organization.objects.select_for_update().filter(pk=org.pk).first()


# A day with a refresh already queued is not queued again: a burst of webhooks touching one
# day costs one refresh, not one per event. The mark expires, so a lost task only delays the
# refresh until the next change (or the nightly rebuild).
PENDING_REFRESH_SECONDS = 900


def _pending_key(org_id: int, day: date) -> str:
    return f"kpis:rollup-pending:{org_id}:{day.isoformat()}"


def rollup_refresh_claim(*, org_id: int, days: Iterable[date]) -> list[date]:
    """The days not already waiting for a refresh, now marked as waiting."""
    return sorted(
        day
        for day in set(days)
        if cache.add(_pending_key(org_id, day), 1, timeout=PENDING_REFRESH_SECONDS)
    )


def rollup_refresh_release(*, org_id: int, days: Iterable[date]) -> None:
    """Called as a refresh starts, before it reads: changes from now on queue a new one."""
    cache.delete_many([_pending_key(org_id, day) for day in days])


def rollup_refresh_days(*, org: Organization, days: Iterable[date]) -> int:
    """Recomputes the rollup rows of the given org-local days (and their months) from raw rows.

    Idempotent; call it (or enqueue ``kpis.tasks.rollup_refresh_days_task``) after any change to
    contacts, calls, PCFs, deals, payments, refunds or ad spend, with the days the change touched
    (old and new dates both, when a date moved).
    """
    days = sorted(set(days))
    if not days:
        return 0
    ranges = _runs(days)
    with transaction.atomic():
        _lock(org)
        day_filter = DailyRollup.objects.filter(org=org, grain=DailyRollup.Grain.DAY)
        for lo, hi in ranges:
            day_filter.filter(date__gte=lo, date__lte=hi).delete()
        rows = _day_rows(org=org, ranges=ranges)
        DailyRollup.objects.bulk_create(rows, batch_size=BATCH)
        _rebuild_months(org=org, months=sorted({day.replace(day=1) for day in days}))
    return len(rows)


def rollup_rebuild(*, org: Organization) -> int:
    """Every rollup row of the org, from scratch (nightly, and after bulk loads)."""
    with transaction.atomic():
        _lock(org)
        DailyRollup.objects.filter(org=org).delete()
        rows = _day_rows(org=org, ranges=None)
        DailyRollup.objects.bulk_create(rows, batch_size=BATCH)
        months = _rebuild_months(org=org, months=None)
    return len(rows) + months


@dataclass(frozen=True)
class RollupDifference:
    kind: str
    grain: str
    date: date
    closer_id: int | None
    setter_id: int | None
    source: str
    campaign: str
    count: str
    rollup: Decimal | int
    raw: Decimal | int

    def __str__(self):
        who = f"closer={self.closer_id} setter={self.setter_id} {self.source}/{self.campaign}"
        return f"{self.kind}/{self.grain} {self.date} {who}: {self.count} rollup={self.rollup} raw={self.raw}"


def rollup_check(*, org: Organization, start: date, end: date) -> list[RollupDifference]:
    """Every difference between the rollup rows and the raw rows for [start, end]; [] when equal.

    Checks day rows against the raw rows, and month rows (of whole months inside the range)
    against what the raw rows of that month add up to.
    """
    differences: list[RollupDifference] = []
    for kind in KINDS:
        expected = rollup_rows_raw(org=org, ranges=[(start, end)], kind=kind)
        stored = {
            (r.date, r.closer_id, r.setter_id, r.source, r.campaign): {
                name: getattr(r, name) for name in ROLLUP_COUNTS
            }
            for r in DailyRollup.objects.filter(
                org=org, kind=kind, grain=DailyRollup.Grain.DAY, date__gte=start, date__lte=end
            )
        }
        differences += _compare(kind, DailyRollup.Grain.DAY, expected, stored)
        by_month: dict[tuple, dict] = {}
        for (day, *dims), values in expected.items():
            first, last = month_bounds(day)
            if first < start or last > end:
                continue
            target = by_month.setdefault((first, *dims), dict.fromkeys(ROLLUP_COUNTS, 0))
            for name, value in values.items():
                target[name] += value
        months = sorted({key[0] for key in by_month})
        stored_months = {
            (r.date, r.closer_id, r.setter_id, r.source, r.campaign): {
                name: getattr(r, name) for name in ROLLUP_COUNTS
            }
            for r in DailyRollup.objects.filter(
                org=org, kind=kind, grain=DailyRollup.Grain.MONTH, date__in=months
            )
        }
        differences += _compare(kind, DailyRollup.Grain.MONTH, by_month, stored_months)
    return differences


def _compare(kind, grain, expected: dict, stored: dict) -> list[RollupDifference]:
    out = []
    for key in sorted(set(expected) | set(stored), key=str):
        want = expected.get(key, {})
        have = stored.get(key, {})
        for name in ROLLUP_COUNTS:
            raw_value = want.get(name, 0) or 0
            rollup_value = have.get(name, 0) or 0
            if raw_value != rollup_value:
                out.append(
                    RollupDifference(
                        kind, grain, *key, count=name, rollup=rollup_value, raw=raw_value
                    )
                )
    return out


# --- ad spend --------------------------------------------------------------------------------


class AdSpendImportError(ValidationError):
    """Raised with every bad line; ``lines`` lists ``(line number, message)``."""

    def __init__(self, lines: list[tuple[int, str]]):
        self.lines = lines
        super().__init__([f"line {number}: {message}" for number, message in lines])


def _parse_line(number: int, row: dict, org: Organization) -> tuple[AdSpend | None, list[str]]:
    errors = []
    day_text = (row.get("date") or "").strip()
    month_text = (row.get("month") or "").strip()
    granularity, when = None, None
    if day_text and month_text:
        errors.append("give a date or a month, not both")
    elif day_text:
        try:
            when, granularity = date.fromisoformat(day_text), AdSpend.Granularity.DAY
        except ValueError:
            errors.append(f"date {day_text!r} is not YYYY-MM-DD")
    elif month_text:
        try:
            when = datetime.strptime(month_text, "%Y-%m").date()
            granularity = AdSpend.Granularity.MONTH
        except ValueError:
            errors.append(f"month {month_text!r} is not YYYY-MM")
    else:
        errors.append("a date or a month is required")
    amount_text = (row.get("amount") or "").strip().replace(",", "")
    amount = None
    try:
        amount = Decimal(amount_text)
        if not amount.is_finite() or amount < 0:
            errors.append(f"amount {amount_text!r} must be a number of 0 or more")
        elif amount != amount.quantize(Decimal("0.01")):
            errors.append(f"amount {amount_text!r} has more than 2 decimals")
    except InvalidOperation:
        errors.append(f"amount {amount_text!r} is not a number")
    currency = (row.get("currency") or "").strip().upper() or org.currency
    if currency not in CURRENCIES:
        errors.append(f"currency {row.get('currency')!r} is not an ISO 4217 code such as USD")
    if errors:
        return None, errors
    spend = AdSpend(
        org=org,
        granularity=granularity,
        date=when,
        source=(row.get("source") or "").strip(),
        campaign=(row.get("campaign") or "").strip(),
        amount=amount,
        currency=currency,
    )
    try:
        spend.full_clean(exclude=["org"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors += [f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()]
    return spend, errors


def ad_spend_import(*, org: Organization, file: io.TextIOBase | Iterable[str]) -> list[AdSpend]:
    """Imports ad spend from CSV (``date`` or ``month``, ``source``, ``campaign``, ``amount``,
    optionally ``currency``: the org's when absent, and refused when it is another one).

    All or nothing: every bad line is reported with its line number and nothing is saved. A row
    for a day/month, source and campaign already entered replaces the amount (re-importing a
    corrected file is safe). The touched days' rollups are refreshed in the same transaction.
    """
    reader = csv.DictReader(file)
    header = {name.strip().lower() for name in (reader.fieldnames or [])}
    problems: list[tuple[int, str]] = []
    if not header:
        raise AdSpendImportError([(1, "the file is empty")])
    missing = {"source", "campaign", "amount"} - header
    if missing or not ({"date", "month"} & header):
        need = sorted(missing | ({"date or month"} if not {"date", "month"} & header else set()))
        raise AdSpendImportError([(1, f"missing column(s): {', '.join(need)}")])
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
    parsed: list[AdSpend] = []
    seen: dict[tuple, int] = {}
    for row in reader:
        number = reader.line_num
        spend, errors = _parse_line(number, row, org)
        if spend is not None and not errors:
            key = (spend.granularity, spend.date, spend.source, spend.campaign)
            if key in seen:
                errors.append(f"the same period, source and campaign as line {seen[key]}")
            seen[key] = number
        problems += [(number, message) for message in errors]
        if spend is not None and not errors:
            parsed.append(spend)
    if problems:
        raise AdSpendImportError(problems)
    with transaction.atomic():
        saved = []
        touched: set[date] = set()
        for spend in parsed:
            obj, _ = AdSpend.objects.update_or_create(
                org=org,
                granularity=spend.granularity,
                date=spend.date,
                source=spend.source,
                campaign=spend.campaign,
                defaults={
                    "amount": spend.amount,
                    "currency": spend.currency,
                    "source_raw": spend.source_raw,
                    "campaign_raw": spend.campaign_raw,
                },
            )
            saved.append(obj)
            if spend.granularity == AdSpend.Granularity.MONTH:
                first, last = month_bounds(spend.date)
                touched |= {
                    date.fromordinal(d) for d in range(first.toordinal(), last.toordinal() + 1)
                }
            else:
                touched.add(spend.date)
        rollup_refresh_days(org=org, days=touched)
    return saved
