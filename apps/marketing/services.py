"""Marketing writes: the journey table, the channel table, campaign days and their CSV import."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from apps.contacts.models import Touchpoint
from apps.deals.models import Deal
from apps.kpis.services import AdSpendImportError
from apps.marketing.models import (
    Campaign,
    CampaignDay,
    ChannelMapping,
    Journey,
    JourneyKind,
    JourneyState,
)
from apps.meetings.models import CallType, Meeting
from apps.orgs.models import Organization, User
from apps.orgs.services import audit_log_write
from apps.payments.models import Payment, Refund
from attribution.touch.channels import normalize_channel

__all__ = [
    "CampaignDayImportError",
    "campaign_days_import",
    "channel_mapping_delete",
    "channel_mapping_set",
    "journey_state_bump",
    "journeys_rebuild",
    "journeys_refresh_contacts",
]

BATCH = 2000


# --- input version ---------------------------------------------------------------------------


def journey_state_bump(*, org: Organization, built: bool = False) -> str:
    """A new input version for the org's attribution figures (every cached result keyed by
    the old one is dead from now on)."""
    state, _ = JourneyState.objects.get_or_create(org=org)
    changes = {"version": F("version") + 1, "token": uuid.uuid4().hex}
    if built:
        changes["built_at"] = timezone.now()
    JourneyState.objects.filter(pk=state.pk).update(**changes)
    return changes["token"]


# --- journeys --------------------------------------------------------------------------------


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _journey_rows(*, org: Organization, contact_ids: list[int]) -> list[Journey]:
    """Every journey row of these contacts, read in one query per table (SQL does the
    filtering, ordering and the refund sums; Python only cuts the lists per conversion)."""
    touches: dict[int, list[list]] = defaultdict(list)
    for contact_id, at, source, campaign, kind in (
        Touchpoint.objects.filter(org=org, contact_id__in=contact_ids)
        .order_by("contact_id", "occurred_at", "pk")
        .values_list("contact_id", "occurred_at", "utm_source", "utm_campaign", "kind")
    ):
        touches[contact_id].append(
            [_epoch(at), normalize_channel(source), normalize_channel(campaign), kind, ""]
        )
    # Milestones: the first triage and the first solution booking of the contact.
    bookings: dict[int, dict[str, int]] = defaultdict(dict)
    for contact_id, call_type, booked_at, scheduled_at in (
        Meeting.objects.filter(
            org=org,
            contact_id__in=contact_ids,
            call_type__in=[CallType.TRIAGE, CallType.SOLUTION],
        )
        .order_by("scheduled_at")
        .values_list("contact_id", "call_type", "booked_at", "scheduled_at")
    ):
        at = _epoch(booked_at or scheduled_at)
        first = bookings[contact_id].get(call_type)
        if first is None or at < first:
            bookings[contact_id][call_type] = at
    conversions: list[tuple[int, str, int, datetime, Decimal]] = []
    refunded = dict(
        Refund.objects.filter(org=org, payment__contact_id__in=contact_ids)
        .values("payment_id")
        .annotate(total=Sum("amount"))
        .values_list("payment_id", "total")
    )
    for pk, contact_id, paid_at, amount in Payment.objects.filter(
        org=org,
        contact_id__in=contact_ids,
        status=Payment.Status.SUCCEEDED,
        currency=org.currency,
    ).values_list("pk", "contact_id", "paid_at", "amount"):
        net = amount - refunded.get(pk, Decimal(0))
        conversions.append((contact_id, JourneyKind.PAYMENT, pk, paid_at, net))
    for pk, contact_id, closed_at, value in Deal.objects.filter(
        org=org,
        contact_id__in=contact_ids,
        status=Deal.Status.WON,
        currency=org.currency,
        closed_at__isnull=False,
    ).values_list("pk", "contact_id", "closed_at", "value"):
        conversions.append((contact_id, JourneyKind.DEAL, pk, closed_at, value))

    rows = []
    for contact_id, kind, pk, at, value in conversions:
        cut = _epoch(at)
        # Touches after the conversion never count (ATTRIBUTION.md).
        path = [list(t) for t in touches.get(contact_id, []) if t[0] <= cut]
        _mark_milestones(path, bookings.get(contact_id, {}), cut)
        rows.append(_row(org, contact_id, kind, path, conversion_id=pk, at=at, value=value))
    for contact_id, path in touches.items():
        rows.append(_row(org, contact_id, JourneyKind.CONTACT, path))
    return rows


def _mark_milestones(path: list[list], bookings: dict[str, int], cut: int) -> None:
    """The touch that led to a booking: the last touch at or before it (W-shaped)."""
    for call_type in (CallType.TRIAGE, CallType.SOLUTION):
        booked = bookings.get(call_type)
        if booked is None or booked > cut:
            continue
        before = [i for i, touch in enumerate(path) if touch[0] <= booked]
        if before and not path[before[-1]][4]:
            path[before[-1]][4] = str(call_type)


def _row(org, contact_id, kind, path, *, conversion_id=None, at=None, value=Decimal(0)):
    first = path[0] if path else None
    return Journey(
        org=org,
        contact_id=contact_id,
        kind=kind,
        conversion_id=conversion_id,
        converted_at=at,
        value=value,
        touches=path,
        first_touch_at=datetime.fromtimestamp(first[0], tz=UTC) if first else None,
        last_touch_at=datetime.fromtimestamp(path[-1][0], tz=UTC) if path else None,
        first_source=first[1] if first else "",
        first_campaign=first[2] if first else "",
        first_kind=first[3] if first else "",
    )


def _lock(org: Organization) -> None:
    # One journey writer per org at a time (two refreshes of one contact would both insert).
    JourneyState.objects.get_or_create(org=org)
    JourneyState.objects.select_for_update().filter(org=org).first()


def journeys_refresh_contacts(*, org: Organization, contact_ids: Iterable[int]) -> int:
    """Rebuilds the journey rows of these contacts from the raw rows; idempotent. Called after
    any change to their touchpoints, calls, deals, payments or refunds (signals.py)."""
    ids = sorted({pk for pk in contact_ids if pk})
    if not ids:
        return 0
    written = 0
    with transaction.atomic():
        _lock(org)
        for i in range(0, len(ids), BATCH):
            chunk = ids[i : i + BATCH]
            Journey.objects.filter(org=org, contact_id__in=chunk).delete()
            rows = _journey_rows(org=org, contact_ids=chunk)
            Journey.objects.bulk_create(rows, batch_size=BATCH)
            written += len(rows)
        journey_state_bump(org=org)
    return written


def journeys_rebuild(*, org: Organization) -> int:
    """Every journey row of the org from scratch (nightly, and after bulk loads)."""
    from apps.contacts.models import Contact

    written = 0
    with transaction.atomic():
        _lock(org)
        Journey.objects.filter(org=org).delete()
        ids = list(Contact.objects.filter(org=org).order_by("pk").values_list("pk", flat=True))
        for i in range(0, len(ids), BATCH):
            rows = _journey_rows(org=org, contact_ids=ids[i : i + BATCH])
            Journey.objects.bulk_create(rows, batch_size=BATCH)
            written += len(rows)
        journey_state_bump(org=org, built=True)
    return written


# --- channel table ---------------------------------------------------------------------------


def channel_mapping_set(
    *, org: Organization, source: str, channel: str, actor: User | None = None
) -> ChannelMapping:
    """Maps a utm_source value to a channel (replacing its mapping, if any)."""
    row = ChannelMapping(org=org, source=source, channel=channel)
    row.full_clean(exclude=["org"], validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        saved, _ = ChannelMapping.objects.update_or_create(
            org=org, source=row.source, defaults={"channel": row.channel}
        )
        audit_log_write(
            org=org,
            actor=actor,
            action="marketing.channel_mapping_set",
            target=saved,
            source=saved.source,
            channel=saved.channel,
        )
        journey_state_bump(org=org)
    return saved


def channel_mapping_delete(*, org: Organization, pk: int, actor: User | None = None) -> bool:
    with transaction.atomic():
        row = ChannelMapping.objects.filter(org=org, pk=pk).first()
        if row is None:
            return False
        audit_log_write(
            org=org,
            actor=actor,
            action="marketing.channel_mapping_delete",
            target=row,
            source=row.source,
        )
        row.delete()
        journey_state_bump(org=org)
    return True


# --- campaign days import --------------------------------------------------------------------


class CampaignDayImportError(AdSpendImportError):
    """Every bad line of a campaign-days file, as ``lines`` of ``(line number, message)``."""


@dataclass(frozen=True)
class _Format:
    name: str
    channel: str | None  # None: the file has a channel column
    columns: dict[str, tuple[str, ...]]  # field -> header names that carry it (lower-case)
    required: tuple[str, ...]
    ignored: tuple[str, ...] = ()


_FORMATS = (
    _Format(
        "meta",
        "meta",
        {
            "date": ("day", "reporting starts"),
            "campaign": ("campaign name",),
            "spend": ("amount spent",),
            "impressions": ("impressions",),
            "clicks": ("link clicks", "clicks (all)"),
            "platform_conversions": ("results",),
            "platform_id": ("campaign id",),
        },
        ("date", "campaign", "spend"),
        ignored=(
            "reporting ends",
            "reach",
            "frequency",
            "result indicator",
            "cost per result",
            "cpm (cost per 1,000 impressions)",
            "cpc (cost per link click)",
            "ctr (link click-through rate)",
            "currency",
            "campaign delivery",
            "ends",
            "attribution setting",
            "budget",
            "budget type",
        ),
    ),
    _Format(
        "google",
        "google",
        {
            "date": ("day",),
            "campaign": ("campaign",),
            "spend": ("cost",),
            "impressions": ("impr.", "impressions"),
            "clicks": ("clicks",),
            "platform_conversions": ("conversions",),
            "platform_id": ("campaign id",),
        },
        ("date", "campaign", "spend"),
        ignored=(
            "currency code",
            "campaign status",
            "campaign type",
            "avg. cpc",
            "ctr",
            "conv. rate",
            "cost / conv.",
            "budget",
            "interactions",
            "interaction rate",
            "avg. cost",
        ),
    ),
    _Format(
        "generic",
        None,
        {
            "date": ("date",),
            "channel": ("channel",),
            "campaign": ("campaign",),
            "spend": ("spend",),
            "impressions": ("impressions",),
            "clicks": ("clicks",),
            "platform_conversions": ("platform_conversions", "conversions"),
            "platform_id": ("platform_id",),
        },
        ("date", "channel", "campaign", "spend", "impressions", "clicks"),
    ),
)


def _header_name(cell: str) -> tuple[str, str]:
    """("amount spent", "USD") for "Amount spent (USD)"; the currency part only for spend."""
    text = " ".join(cell.replace("\ufeff", "").split()).lower()
    if text.startswith("amount spent"):
        rest = text[len("amount spent") :].strip()
        return "amount spent", rest.strip("()").upper()
    return text, ""


def _detect(header: list[str]) -> tuple[_Format | None, dict[str, int], list[str], str]:
    names = [_header_name(cell) for cell in header]
    plain = [name for name, _ in names]
    if "campaign name" in plain:
        fmt = _FORMATS[0]
    elif "cost" in plain:
        fmt = _FORMATS[1]
    elif "channel" in plain or "spend" in plain:
        fmt = _FORMATS[2]
    else:
        return None, {}, [], ""
    index: dict[str, int] = {}
    unknown = []
    currency = ""
    for i, (name, suffix) in enumerate(names):
        field = next((f for f, aliases in fmt.columns.items() if name in aliases), None)
        if field is None:
            if name and name not in fmt.ignored:
                unknown.append(header[i].strip())
            continue
        if field in index:
            unknown.append(f"{header[i].strip()} (a second {field} column)")
            continue
        index[field] = i
        if field == "spend" and suffix:
            currency = suffix
    return fmt, index, unknown, currency


_DATE_FORMATS = ("%Y-%m-%d", "%b %d, %Y", "%B %d, %Y", "%a, %b %d, %Y")


def _date(text: str) -> date | None:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _number(text: str, *, integer: bool) -> Decimal | None:
    cleaned = text.strip().replace(",", "").replace("$", "").replace("€", "").replace("£", "")
    if cleaned in ("", "--", "-"):
        return Decimal(0)
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite() or (integer and value != value.to_integral_value()):
        return None
    return value


@dataclass
class _Line:
    number: int
    channel: str
    campaign: str
    day: date
    spend: Decimal
    impressions: int
    clicks: int
    platform_conversions: Decimal | None
    platform_id: str


def _parse(number: int, cells: list[str], fmt: _Format, index: dict[str, int]):
    def cell(field):
        i = index.get(field)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    errors = []
    day_text = cell("date")
    day = _date(day_text)
    if day is None:
        errors.append(f"date {day_text!r} is not a date such as 2026-11-30")
    channel = normalize_channel(fmt.channel or cell("channel"))
    if not channel:
        errors.append("the channel is empty")
    campaign = normalize_channel(cell("campaign"))
    if not campaign:
        errors.append("the campaign is empty")
    spend = _number(cell("spend"), integer=False)
    if spend is None:
        errors.append(f"spend {cell('spend')!r} is not a number")
    elif spend < 0:
        errors.append(f"spend {cell('spend')!r} is negative")
    elif spend != spend.quantize(Decimal("0.01")):
        errors.append(f"spend {cell('spend')!r} has more than 2 decimals")
    counts = {}
    for field in ("impressions", "clicks"):
        value = _number(cell(field), integer=True)
        if value is None or value < 0:
            errors.append(f"{field} {cell(field)!r} is not a whole number of 0 or more")
        counts[field] = int(value or 0)
    conversions = None
    if "platform_conversions" in index:
        conversions = _number(cell("platform_conversions"), integer=False)
        if conversions is None or conversions < 0:
            errors.append(
                f"conversions {cell('platform_conversions')!r} is not a number of 0 or more"
            )
        else:
            conversions = conversions.quantize(Decimal("0.01"))
    if errors:
        return None, errors
    return _Line(
        number, channel, campaign, day, spend, counts["impressions"], counts["clicks"],
        conversions, cell("platform_id")[:200],
    ), []  # fmt: skip


def _read(file) -> list[tuple[int, list[str]]]:
    if isinstance(file, bytes | bytearray):
        file = io.StringIO(file.decode("utf-8-sig"))
    reader = csv.reader(file)
    lines = []
    for cells in reader:
        lines.append((reader.line_num, cells))
    return lines


def campaign_days_import(
    *, org: Organization, file: io.TextIOBase | Iterable[str], actor: User | None = None
) -> list[CampaignDay]:
    """Imports campaign days from a Meta Ads Manager or Google Ads export, or the generic
    ``date,channel,campaign,spend,impressions,clicks`` (optionally ``platform_conversions``,
    ``platform_id``). Campaigns are created as needed.

    All or nothing, as ``kpis.services.ad_spend_import``: every bad line is reported with its
    line number and nothing is saved. A day already imported for a campaign is replaced.
    """
    lines = _read(file)
    # Google Ads exports start with a title and a date-range line before the header.
    while lines and len([c for c in lines[0][1] if c.strip()]) <= 1 and len(lines) > 1:
        lines.pop(0)
    if not lines:
        raise CampaignDayImportError([(1, "the file is empty")])
    header_number, header = lines[0]
    fmt, index, unknown, currency = _detect(header)
    if fmt is None:
        raise CampaignDayImportError(
            [
                (
                    header_number,
                    "not a Meta Ads Manager or Google Ads export, nor the columns "
                    "date,channel,campaign,spend,impressions,clicks",
                )
            ]
        )
    problems: list[tuple[int, str]] = []
    if unknown:
        problems.append((header_number, f"unknown column(s): {', '.join(unknown)}"))
    missing = [field for field in fmt.required if field not in index]
    if missing:
        problems.append((header_number, f"missing column(s): {', '.join(missing)}"))
    if currency and currency != org.currency:
        problems.append(
            (header_number, f"spend is in {currency}; {org.name} reports in {org.currency}")
        )
    if problems:
        raise CampaignDayImportError(problems)
    parsed: list[_Line] = []
    seen: dict[tuple, int] = {}
    for number, cells in lines[1:]:
        if not any(c.strip() for c in cells):
            continue
        if cells and cells[0].strip().lower().startswith("total"):
            continue  # the totals rows Google Ads appends
        line, errors = _parse(number, cells, fmt, index)
        if line is not None:
            key = (line.channel, line.campaign, line.day)
            if key in seen:
                errors.append(f"the same day, channel and campaign as line {seen[key]}")
            else:
                seen[key] = number
        problems += [(number, message) for message in errors]
        if line is not None and not errors:
            parsed.append(line)
    if problems:
        raise CampaignDayImportError(problems)
    saved = []
    with transaction.atomic():
        campaigns: dict[tuple[str, str], Campaign] = {}
        for line in parsed:
            key = (line.channel, line.campaign)
            if key not in campaigns:
                campaign, _ = Campaign.objects.get_or_create(
                    org=org, channel=line.channel, name=line.campaign
                )
                if line.platform_id and not campaign.platform_id:
                    campaign.platform_id = line.platform_id
                    campaign.save(update_fields=["platform_id"])
                campaigns[key] = campaign
            day, _ = CampaignDay.objects.update_or_create(
                org=org,
                campaign=campaigns[key],
                date=line.day,
                defaults={
                    "spend": line.spend,
                    "impressions": line.impressions,
                    "clicks": line.clicks,
                    "platform_conversions": line.platform_conversions,
                },
            )
            saved.append(day)
        audit_log_write(
            org=org,
            actor=actor,
            action="marketing.campaign_days_import",
            format=fmt.name,
            rows=len(saved),
        )
        journey_state_bump(org=org)
    return saved
