"""Deal-probability reads: the feature rows of an org's pipeline, built in one SQL query, and
the stored probabilities the lists, the rep portal and the dashboard show.

Units. A row is a deal (open or closed), or a lead with a solution call and no deal of its own
within 90 days either side of the call (that lead's deal, when there is one, is the row).

Labels. "Won within 90 days" of the row's start: a deal's creation (or its close or its call, if
earlier), a call's scheduled time. A row's outcome is settled once won or lost, or 90 days on.

Features. A call is seen as it was just before it (earlier triage and solution calls, earlier
offers, touches up to then), so historic calls and upcoming ones look alike. A deal is seen as it
stands: open deals now, closed ones as they closed (the CRM keeps no history of a deal's stage).
Touches are the contact's touchpoints up to the start, payments excluded (a payment is the
outcome, not a touch that led to it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.contacts.models import Contact, Touchpoint
from apps.deals.models import Deal
from apps.forecast.models import ForecastModel, Prediction
from apps.kpis.selectors import deals_matching
from apps.meetings.models import Meeting, PostCallForm
from apps.orgs.models import Organization
from attribution.forecast.features import FeatureRow, Outcome

WINDOW = timedelta(days=90)
HISTORY = timedelta(days=548)  # 18 months of closed outcomes

__all__ = [
    "HISTORY",
    "WINDOW",
    "Unit",
    "forecast_current_model",
    "forecast_outcomes",
    "forecast_units",
    "pipeline_for_filters",
    "pipeline_weighted",
    "probabilities_for",
    "rep_open_deals",
    "with_probabilities",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unit:
    kind: str  # "deal" | "call"
    pk: int
    contact_id: int | None
    features: FeatureRow
    settled: bool
    won: bool
    settled_at: datetime
    is_open: bool  # an active deal, or a call still to come: what gets a probability


def _sql() -> str:
    deal, meeting = Deal._meta.db_table, Meeting._meta.db_table
    contact, touch = Contact._meta.db_table, Touchpoint._meta.db_table
    pcf = PostCallForm._meta.db_table
    # "Attended" is the stored KPIS.md "showed" of a call that has taken place.
    attended = (
        "x.showed AND x.status NOT IN ('canceled', 'no_show', 'rescheduled') "
        "AND x.scheduled_at < u.as_of"
    )

    def mine(condition: str, join: str = "") -> str:
        # The row's own calls: its contact's, or the deal's call when it has no contact. Two
        # EXISTS rather than one OR, so each is an index lookup and not a scan per row.
        return (
            f"(EXISTS (SELECT 1 FROM {meeting} x {join} WHERE x.org_id = %(org)s "  # noqa: S608
            f"AND x.contact_id = u.contact_id AND {condition}) "
            f"OR EXISTS (SELECT 1 FROM {meeting} x {join} WHERE x.id = u.meeting_id "
            f"AND {condition}))"
        )

    offer_join = f"JOIN {pcf} p ON p.meeting_id = x.id"
    start = (
        "LEAST(d.created_at, COALESCE(d.closed_at, d.created_at), "
        "COALESCE(m.scheduled_at, d.created_at))"
    )
    # Table names only are interpolated; every value is a parameter. A contact's deals are
    # looked up by contact alone: a contact is one org's, and its index is the selective one.
    return f"""
    WITH units AS (
        SELECT 'deal' AS kind, d.id AS pk, d.contact_id, d.status, d.closed_at, d.updated_at,
               d.value::float AS deal_value, d.confidence::float AS crm_confidence,
               COALESCE(d.closer_id, m.closer_id) AS closer_id, d.meeting_id, d.pcf_id,
               {start} AS t0,
               COALESCE(NULLIF(c.original_source, ''), m.utm_source, '') AS channel,
               COALESCE(NULLIF(c.original_campaign, ''), m.utm_campaign, '') AS campaign,
               %(now)s::timestamptz AS as_of
        FROM {deal} d
        LEFT JOIN {meeting} m ON m.id = d.meeting_id
        LEFT JOIN {contact} c ON c.id = d.contact_id
        WHERE d.org_id = %(org)s
        UNION ALL
        SELECT 'call', s.id, s.contact_id, s.status, NULL, NULL, NULL, NULL, s.closer_id, s.id,
               NULL, s.scheduled_at,
               COALESCE(NULLIF(c.original_source, ''), s.utm_source, ''),
               COALESCE(NULLIF(c.original_campaign, ''), s.utm_campaign, ''),
               s.scheduled_at
        FROM {meeting} s
        JOIN {contact} c ON c.id = s.contact_id
        WHERE s.org_id = %(org)s AND s.call_type = 'solution' AND s.status <> 'rescheduled'
          AND NOT EXISTS (
              SELECT 1 FROM {deal} d LEFT JOIN {meeting} m ON m.id = d.meeting_id
              WHERE d.contact_id = s.contact_id
                AND {start} BETWEEN s.scheduled_at - %(window)s AND s.scheduled_at + %(window)s)
    )
    SELECT u.kind, u.pk, u.contact_id, u.status, u.closed_at, u.updated_at, u.t0,
           u.deal_value, u.crm_confidence, u.closer_id, u.channel, u.campaign,
           tp.touches,
           EXTRACT(EPOCH FROM u.t0 - LEAST(tp.first_touch, c.first_seen_at)) / 86400.0,
           {mine(f"x.call_type = 'triage' AND {attended}")},
           u.kind = 'call' OR {mine("x.call_type = 'solution' AND x.status <> 'rescheduled'")},
           {mine(f"x.call_type = 'solution' AND {attended} AND NOT (u.kind = 'call' AND x.id = u.pk)")},
           {mine(f"p.offer_made AND {attended}", offer_join)}
             OR EXISTS (SELECT 1 FROM {pcf} p WHERE p.id = u.pcf_id AND p.offer_made),
           CASE WHEN u.kind = 'deal' THEN
               CASE WHEN u.status = 'won'
                     AND u.closed_at BETWEEN u.t0 - interval '1 day' AND u.t0 + %(window)s
                    THEN u.closed_at END
           ELSE (SELECT MIN(w.closed_at) FROM {deal} w
                 WHERE w.contact_id = u.contact_id AND w.status = 'won'
                   AND w.closed_at BETWEEN u.t0 - interval '1 day' AND u.t0 + %(window)s)
           END
    FROM units u
    LEFT JOIN {contact} c ON c.id = u.contact_id
    LEFT JOIN LATERAL (
        SELECT COUNT(*) AS touches, MIN(t.occurred_at) AS first_touch FROM {touch} t
        WHERE t.org_id = %(org)s AND t.contact_id = u.contact_id AND t.kind <> 'payment'
          AND t.occurred_at <= u.t0
    ) tp ON TRUE
    """  # noqa: S608


def forecast_units(*, org: Organization, now: datetime | None = None) -> list[Unit]:
    now = now or timezone.now()
    if connection.vendor != "postgresql":
        # The feature query is PostgreSQL's (LATERAL joins, JIT); the embedded SQLite of
        # `make run` trains no model and every probability shows "—".
        logger.warning(
            "deal probability needs PostgreSQL; no features read on %s", connection.vendor
        )
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        # The planner's cost for a few thousand rows crosses jit_above_cost, and compiling this
        # many expressions takes PostgreSQL ~10x longer than running the query (9 s vs 1 s for
        # 10,000 rows in bench_forecast): JIT off, for this transaction only.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_sql(), {"org": org.pk, "now": now, "window": WINDOW})
        rows = cursor.fetchall()
    units = []
    for (kind, pk, contact_id, status, closed_at, updated_at, t0, value, confidence, closer_id,
         channel, campaign, touches, days, triage, booked, attended, offer, won_at) in rows:  # fmt: skip
        features = FeatureRow(
            channel=(channel or "").strip().lower(),
            campaign=(campaign or "").strip(),
            touches=int(touches or 0),
            days_since_first_touch=None if days is None else max(float(days), 0.0),
            triage_attended=bool(triage),
            solution_booked=bool(booked),
            solution_attended=bool(attended),
            offer_made=bool(offer),
            deal_value=value,
            crm_confidence=confidence,
            closer="" if closer_id is None else str(closer_id),
        )
        deadline = t0 + WINDOW
        won = won_at is not None
        lost = kind == "deal" and status == Deal.Status.LOST
        settled = won or lost or deadline <= now
        if won:
            settled_at = won_at
        elif lost:
            settled_at = min(closed_at or updated_at, deadline)
        else:
            settled_at = deadline
        if kind == "deal":
            is_open = status == Deal.Status.ACTIVE
        else:
            is_open = status == Meeting.Status.SCHEDULED and t0 >= now
        units.append(Unit(kind, pk, contact_id, features, settled, won, settled_at, is_open))
    return units


def forecast_outcomes(units: list[Unit], *, now: datetime) -> list[Outcome]:
    """The closed outcomes of the last 18 months, oldest first."""
    since = now - HISTORY
    return sorted(
        (
            Outcome(features=u.features, won=u.won, settled_at=u.settled_at)
            for u in units
            if u.settled and u.settled_at >= since and not (u.is_open and u.kind == "call")
        ),
        key=lambda o: o.settled_at,
    )


def forecast_current_model(*, org: Organization) -> ForecastModel | None:
    return ForecastModel.objects.for_org(org).order_by("-version").first()


def probabilities_for(
    *, org: Organization, deals=(), meetings=()
) -> tuple[dict[int, Prediction], dict[int, Prediction]]:
    """The stored predictions of these deals and calls, by their id (one query each)."""
    deal_ids = [d.pk for d in deals]
    meeting_ids = [m.pk for m in meetings]
    by_deal, by_meeting = {}, {}
    if deal_ids:
        by_deal = {
            p.deal_id: p for p in Prediction.objects.for_org(org).filter(deal_id__in=deal_ids)
        }
    if meeting_ids:
        by_meeting = {
            p.meeting_id: p
            for p in Prediction.objects.for_org(org).filter(meeting_id__in=meeting_ids)
        }
    return by_deal, by_meeting


@dataclass(frozen=True)
class WeightedPipeline:
    currency: str
    weighted: Decimal
    open_value: Decimal
    deals: int
    unscored: int


def pipeline_weighted(*, org: Organization, deals: QuerySet[Deal]) -> list[WeightedPipeline]:
    """Open deals' value weighted by their probability, per currency (org currency first).
    A deal without a probability yet counts in the open value, not in the weighted one."""
    open_deals = deals.filter(org=org, status=Deal.Status.ACTIVE)
    scored = dict(
        Prediction.objects.for_org(org)
        .filter(deal__in=open_deals, probability__isnull=False)
        .values_list("deal_id", "probability")
    )
    totals: dict[str, dict] = {}
    for pk, currency, value in open_deals.values_list("pk", "currency", "value"):
        t = totals.setdefault(
            currency, {"weighted": Decimal(0), "open": Decimal(0), "n": 0, "unscored": 0}
        )
        t["open"] += value
        t["n"] += 1
        if pk in scored:
            t["weighted"] += value * Decimal(str(round(scored[pk], 6)))
        else:
            t["unscored"] += 1
    ordered = sorted(totals, key=lambda c: (c != org.currency, c))
    return [
        WeightedPipeline(
            currency=c,
            weighted=totals[c]["weighted"].quantize(Decimal("0.01")),
            open_value=totals[c]["open"],
            deals=totals[c]["n"],
            unscored=totals[c]["unscored"],
        )
        for c in ordered
    ]


def pipeline_for_filters(*, org: Organization, filters) -> list[WeightedPipeline]:
    """The dashboard's card: the weighted pipeline of the deals its filters select."""
    return pipeline_weighted(
        org=org, deals=deals_matching(Deal.objects.for_org(org), filters, org=org)
    )


def with_probabilities(*, org: Organization, rows, kind: str) -> list:
    """``rows`` (deals or calls) as a list, each with ``win_probability``: its stored
    Prediction, or None. Lists call it on the one page they show."""
    rows = list(rows)
    if kind == "deal":
        found, _ = probabilities_for(org=org, deals=rows)
    else:
        _, found = probabilities_for(org=org, meetings=rows)
    for row in rows:
        row.win_probability = found.get(row.pk)
    return rows


def rep_open_deals(*, org: Organization, member) -> list[Deal]:
    """A rep's own open deals (credited to them as closer or setter), newest first."""
    qs = (
        Deal.objects.for_org(org)
        .filter(Q(closer=member) | Q(setter=member), status=Deal.Status.ACTIVE)
        .select_related("contact")
        .order_by("-created_at", "-id")[:50]
    )
    return with_probabilities(org=org, rows=qs, kind="deal")
