"""Payment reads: the ledger a member may see, its filters, and totals kept per currency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from apps.orgs.access import credited_rows_for_member
from apps.orgs.calendar import org_period_bounds
from apps.orgs.models import Membership, Organization, TeamMember
from apps.payments.models import (
    CreditBasis,
    CurrencyRate,
    Payment,
    PayoutLine,
    PayoutSnapshot,
    Refund,
)
from apps.payments.services import payout_lines_compute

MONEY = DecimalField(max_digits=16, decimal_places=2)
ZERO = Decimal("0.00")
STATUS_CHOICES = [
    *Payment.Status.choices,
    ("refunded", "Has a refund"),
    ("unassigned", "Unassigned (no deal, no call)"),
]


# Matched to no deal and no attended call, and nobody credited by hand: waiting for an admin.
UNASSIGNED = Q(deal__isnull=True, meeting__isnull=True, closer__isnull=True) & ~Q(
    credit_basis=CreditBasis.MANUAL
)


def payment_list_for_member(*, membership: Membership) -> QuerySet[Payment]:
    """Every payment of the org for managers; a rep's own (as closer or setter) for reps."""
    refunded = (
        Refund.objects.filter(payment=OuterRef("pk"))
        .values("payment")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    qs = (
        Payment.objects.for_org(membership.org)
        .annotate(refunded=Coalesce(Subquery(refunded, output_field=MONEY), Value(ZERO)))
        .annotate(net=ExpressionWrapper(F("amount") - F("refunded"), output_field=MONEY))
    )
    return credited_rows_for_member(qs, membership)


@dataclass(frozen=True)
class LedgerFilters:
    """The filter bar of the payments and deals pages."""

    start: date
    end: date
    closer: TeamMember | None = None
    setter: TeamMember | None = None
    provider: str = ""
    status: str = ""


def payment_ledger(*, membership: Membership, filters: LedgerFilters) -> QuerySet[Payment]:
    lo, hi = org_period_bounds(membership.org, filters.start, filters.end)
    qs = payment_list_for_member(membership=membership).filter(paid_at__gte=lo, paid_at__lt=hi)
    if filters.closer is not None:
        qs = qs.filter(closer=filters.closer)
    if filters.setter is not None:
        qs = qs.filter(setter=filters.setter)
    if filters.provider:
        qs = qs.filter(provider=filters.provider)
    if filters.status == "refunded":
        qs = qs.filter(refunded__gt=0)
    elif filters.status == "unassigned":
        qs = qs.filter(UNASSIGNED)
    elif filters.status:
        qs = qs.filter(status=filters.status)
    return qs.select_related("contact", "closer", "setter", "deal").order_by("-paid_at", "-id")


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    count: int
    gross: Decimal
    refunds: Decimal
    net: Decimal
    is_org_currency: bool
    # Reporting only: the org-currency value at the org's fixed rate, never added in.
    rate: Decimal | None = None

    @property
    def net_in_org_currency(self) -> Decimal | None:
        if self.rate is None:
            return None
        return (self.net * self.rate).quantize(Decimal("0.01"))


def currency_totals(
    *, org: Organization, qs: QuerySet, amount_fields: dict[str, str]
) -> list[CurrencyTotal]:
    """One totals row per currency, the org's first: amounts in different currencies are never
    added together."""
    rows = (
        qs.order_by()
        .values("currency")
        .annotate(
            count=Count("pk"),
            **{k: Coalesce(Sum(v), Value(ZERO)) for k, v in amount_fields.items()},
        )
    )
    rates = dict(CurrencyRate.objects.for_org(org).values_list("currency", "rate"))
    out = [
        CurrencyTotal(
            currency=row["currency"],
            count=row["count"],
            gross=row.get("gross", ZERO),
            refunds=row.get("refunds", ZERO),
            net=row.get("net", ZERO),
            is_org_currency=row["currency"] == org.currency,
            rate=rates.get(row["currency"]) if row["currency"] != org.currency else None,
        )
        for row in rows
    ]
    return sorted(out, key=lambda t: (not t.is_org_currency, t.currency))


def payment_totals(*, org: Organization, qs: QuerySet[Payment]) -> list[CurrencyTotal]:
    # Cash counts succeeded payments only (KPIS.md cash_collected); other statuses show in rows.
    return currency_totals(
        org=org,
        qs=qs.filter(status=Payment.Status.SUCCEEDED),
        amount_fields={"gross": "amount", "refunds": "refunded", "net": "net"},
    )


def unassigned_payments(*, org: Organization) -> QuerySet[Payment]:
    return (
        Payment.objects.for_org(org)
        .filter(deal__isnull=True, meeting__isnull=True, closer__isnull=True)
        .exclude(credit_basis=CreditBasis.MANUAL)
    )


def payout_snapshots(*, org: Organization) -> QuerySet[PayoutSnapshot]:
    return (
        PayoutSnapshot.objects.for_org(org)
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )


# --- a rep's commission statement ---------------------------------------------------------------


@dataclass
class StatementPeriod:
    """One period of a rep's statement: a standing snapshot's lines, or (``snapshot`` None) the
    running period nobody has snapshotted yet, computed as a snapshot would freeze it now."""

    start: date
    end: date
    snapshot: PayoutSnapshot | None
    lines: list[PayoutLine]

    @property
    def totals(self) -> list[tuple[str, Decimal]]:
        by_currency: dict[str, Decimal] = {}
        for line in self.lines:
            currency = line.currency or (self.snapshot.currency if self.snapshot else "")
            by_currency[currency] = by_currency.get(currency, ZERO) + line.commission
        return sorted(by_currency.items())


def payout_statement(
    *, org: Organization, member: TeamMember, today: date
) -> list[StatementPeriod]:
    """A rep's own lines of every standing payout snapshot (the latest run of each period, as
    re-running a period replaces it), newest first, after the running period when there is one:
    from the day after the last snapshotted period (or the first of this month) to ``today``."""
    latest = (
        PayoutSnapshot.objects.for_org(org)
        .values("period_start", "period_end")
        .annotate(latest=Max("pk"))
        .values_list("latest", flat=True)
    )
    snapshots = list(
        PayoutSnapshot.objects.for_org(org)
        .filter(pk__in=list(latest))
        .order_by("-period_end", "-pk")
    )
    lines_by_snapshot: dict[int, list[PayoutLine]] = {s.pk: [] for s in snapshots}
    for line in (
        PayoutLine.objects.for_org(org)
        .filter(snapshot_id__in=list(lines_by_snapshot), team_member=member)
        .order_by("paid_at", "pk")
    ):
        lines_by_snapshot[line.snapshot_id].append(line)
    periods = [
        StatementPeriod(s.period_start, s.period_end, s, lines_by_snapshot[s.pk]) for s in snapshots
    ]
    start = (
        max(s.period_end for s in snapshots) + timedelta(days=1)
        if snapshots
        else today.replace(day=1)
    )
    if start <= today:
        running = [
            line
            for line in payout_lines_compute(org=org, start=start, end=today)
            if line.team_member_id == member.pk
        ]
        periods.insert(0, StatementPeriod(start, today, None, running))
    return periods
