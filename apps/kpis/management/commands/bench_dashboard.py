"""Benchmark of the KPI reads at scale: a synthetic org, rollups, then p50/p95 of summary.json and
the full dashboard page next to the raw path. Not a test: it prints figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/attr_bench \\
        python manage.py bench_dashboard --meetings 1000000

The last line is one JSON object (summary_p95_ms, page_p95_ms, raw_24m_p95_ms, ...).
"""

from __future__ import annotations

import json
import random
import statistics
import time
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models
from django.test import Client
from django.utils import timezone

from apps.contacts.models import Contact
from apps.deals.models import Deal
from apps.kpis.models import AdSpend, DailyRollup
from apps.kpis.selectors import kpi_summary, month_bounds
from apps.kpis.services import rollup_rebuild
from apps.meetings.models import Meeting, PostCallForm
from apps.orgs.models import Membership, Organization, Role, TeamMember, User
from apps.payments.models import Payment, Refund

SLUG = "bench"
SOURCES = ("facebook", "google", "youtube", "tiktok", "newsletter")
CAMPAIGNS = ("webinar", "vsl", "retargeting", "brand")
HOST = "localhost"


def _copy(model: type[models.Model], rows: list[dict]) -> None:
    """COPY rows into the model's table; columns the row leaves out get the field's default."""
    if not rows:
        return
    now = timezone.now()
    fields = list(model._meta.concrete_fields)
    columns = [f.column for f in fields]

    def value(field, row):
        if field.attname in row:
            return row[field.attname]
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            return now
        if field.has_default():
            default = field.get_default()
            return json.dumps(default) if isinstance(field, models.JSONField) else default
        if field.null:
            return None
        if isinstance(field, models.CharField | models.TextField):
            return ""
        raise CommandError(f"{model.__name__}.{field.name} needs a value")

    sql = f'COPY "{model._meta.db_table}" ({", ".join(columns)}) FROM STDIN'
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([value(f, row) for f in fields])


def _next_id(model) -> int:
    with connection.cursor() as cursor:
        # Table names come from the models, never from input.
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{model._meta.db_table}"')  # noqa: S608
        return cursor.fetchone()[0]


def _sync_sequence(model) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        sql = f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT COALESCE(MAX(id), 1) FROM \"{table}\"))"  # noqa: S608
        cursor.execute(sql)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


class Command(BaseCommand):
    help = "Builds a synthetic org and prints p50/p95 of summary.json and the dashboard page."

    def add_arguments(self, parser):
        parser.add_argument("--meetings", type=int, default=1_000_000)
        parser.add_argument("--repeat", type=int, default=20, help="timed runs per case")
        parser.add_argument("--seed", type=int, default=8)
        parser.add_argument(
            "--reuse", action="store_true", help="keep an existing bench org of that size"
        )
        parser.add_argument(
            "--rebuild", action="store_true", help="with --reuse: rebuild the rollups anyway"
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL (set DATABASE_URL).")
        settings.DEBUG = False  # no query log eating memory and time
        random.seed(options["seed"])
        org = Organization.objects.filter(slug=SLUG).first()
        wanted = options["meetings"]
        if org is None or not options["reuse"] or org.settings.get("bench_meetings") != wanted:
            org = self._build(wanted)
        elif options["rebuild"]:
            t = time.perf_counter()
            rows = rollup_rebuild(org=org)
            self.stdout.write(f"rollup_rebuild: {rows} rows in {time.perf_counter() - t:.1f}s")
        manager = Membership.objects.get(org=org, role=Role.MANAGER).user
        closer = TeamMember.objects.filter(org=org, is_closer=True).order_by("pk").first()
        self._measure(org, manager, closer, options["repeat"])

    # --- data --------------------------------------------------------------------------------

    def _wipe(self):
        org = Organization.objects.filter(slug=SLUG).first()
        if org is None:
            return
        self.stdout.write("removing the previous bench org…")
        with connection.cursor() as cursor:
            for model in (
                DailyRollup,
                AdSpend,
                Refund,
                Payment,
                Deal,
                PostCallForm,
                Meeting,
                Contact,
            ):
                if model is Meeting:
                    sql = f'UPDATE "{model._meta.db_table}" SET rescheduled_to_id = NULL WHERE org_id = %s'  # noqa: S608
                    cursor.execute(sql, [org.pk])
                if model is Contact:
                    cursor.execute(
                        'UPDATE "contacts_contact" SET merged_into_id = NULL WHERE org_id = %s',
                        [org.pk],
                    )
                cursor.execute(f'DELETE FROM "{model._meta.db_table}" WHERE org_id = %s', [org.pk])  # noqa: S608
        org.delete()

    def _build(self, n_meetings: int) -> Organization:
        self._wipe()
        started = time.perf_counter()
        org = Organization.objects.create(
            slug=SLUG, name="Bench", timezone="America/New_York", currency="USD"
        )
        user, _ = User.objects.get_or_create(email="manager@bench.example")
        Membership.objects.update_or_create(user=user, org=org, defaults={"role": Role.MANAGER})
        closers = [
            TeamMember.objects.create(
                org=org, name=f"Closer {i:02}", email=f"closer{i}@bench.example", is_closer=True
            ).pk
            for i in range(30)
        ]
        setters = [
            TeamMember.objects.create(
                org=org, name=f"Setter {i:02}", email=f"setter{i}@bench.example", is_setter=True
            ).pk
            for i in range(20)
        ]
        tz = org.tzinfo
        today = timezone.localdate(timezone=tz)
        first_day = month_bounds(today)[0]
        for _ in range(24):
            first_day = month_bounds(first_day - timedelta(days=1))[0]
        span_days = (today - first_day).days
        n_contacts = max(1, n_meetings // 5)

        contact_id = _next_id(Contact)
        meeting_id = _next_id(Meeting)
        pcf_id = _next_id(PostCallForm)
        deal_id = _next_id(Deal)
        payment_id = _next_id(Payment)
        refund_id = _next_id(Refund)
        contacts, meetings, pcfs, deals, payments, refunds = [], [], [], [], [], []
        made = 0
        for c in range(n_contacts):
            cid = contact_id + c
            seen = datetime.combine(
                first_day + timedelta(days=random.randrange(span_days)), datetime.min.time(), tz
            ) + timedelta(minutes=random.randrange(24 * 60))
            contacts.append(
                {
                    "id": cid,
                    "org_id": org.pk,
                    "first_name": "Lead",
                    "last_name": str(c),
                    "primary_email": f"lead{c}@bench.example",
                    "original_source": random.choice(SOURCES),
                    "original_campaign": random.choice(CAMPAIGNS),
                    "first_seen_at": seen,
                }
            )
            setter = random.choice(setters)
            remaining = n_meetings - made
            left = n_contacts - c
            k = remaining if left == 1 else max(1, min(remaining, random.randint(3, 7)))
            when = seen + timedelta(hours=random.randint(2, 72))
            direct = random.random() < 0.15
            closer = random.choice(closers)
            attended_solution = None
            for j in range(k):
                mid = meeting_id + made
                made += 1
                call_type = "triage" if j == 0 and not direct else "solution"
                if j >= 3:
                    call_type = random.choice(("solution", "other"))
                roll = random.random()
                status = "scheduled"
                rescheduled_to = None
                canceled_at = None
                if roll < 0.08 and j < k - 1:
                    status, rescheduled_to = "rescheduled", mid + 1
                elif roll < 0.16:
                    status, canceled_at = "canceled", when - timedelta(hours=3)
                showed = status != "canceled" and random.random() < 0.72
                meetings.append(
                    {
                        "id": mid,
                        "org_id": org.pk,
                        "contact_id": cid,
                        "provider": "calendly",
                        "external_id": f"bench-{mid}",
                        "call_type": call_type,
                        "status": status,
                        "scheduled_at": when,
                        "booked_at": when - timedelta(days=1),
                        "canceled_at": canceled_at,
                        "rescheduled_to_id": rescheduled_to,
                        "closer_id": closer if call_type == "solution" else None,
                        "setter_id": setter,
                        "host_id": closer if call_type == "solution" else setter,
                        "showed": showed,
                        "questions": "[]",
                    }
                )
                if status == "scheduled" and random.random() < 0.6:
                    pcfs.append(
                        {
                            "id": pcf_id + len(pcfs),
                            "org_id": org.pk,
                            "meeting_id": mid,
                            "author_id": closer if call_type == "solution" else setter,
                            "lead_showed": showed,
                            "offer_made": showed
                            and call_type == "solution"
                            and random.random() < 0.6,
                            "currency": "USD",
                            "submitted_at": when + timedelta(hours=1),
                        }
                    )
                if call_type == "solution" and showed and status == "scheduled":
                    attended_solution = (mid, when)
                when += timedelta(hours=random.randint(20, 24 * 9))
            if attended_solution and random.random() < 0.3:
                mid, at = attended_solution
                closed = at + timedelta(hours=random.randint(1, 48))
                value = Decimal(random.choice((3000, 5000, 8000, 12000, 20000)))
                did = deal_id + len(deals)
                deals.append(
                    {
                        "id": did,
                        "org_id": org.pk,
                        "contact_id": cid,
                        "provider": "close",
                        "external_id": f"bench-deal-{did}",
                        "status": "won",
                        "value": value,
                        "currency": "USD",
                        "closed_at": closed,
                        "closer_id": closer,
                        "setter_id": setter,
                        "meeting_id": mid,
                    }
                )
                parts = random.choice((1, 2, 3))
                for p in range(parts):
                    pid = payment_id + len(payments)
                    paid = closed + timedelta(days=30 * p, hours=1)
                    payments.append(
                        {
                            "id": pid,
                            "org_id": org.pk,
                            "contact_id": cid,
                            "deal_id": did,
                            "provider": "stripe",
                            "external_id": f"bench-pi-{pid}",
                            "amount": (value / parts).quantize(Decimal("0.01")),
                            "currency": "USD",
                            "status": "succeeded",
                            "paid_at": paid,
                            "closer_id": closer,
                            "setter_id": setter,
                        }
                    )
                    if random.random() < 0.05:
                        refunds.append(
                            {
                                "id": refund_id + len(refunds),
                                "org_id": org.pk,
                                "payment_id": pid,
                                "provider": "stripe",
                                "external_id": f"bench-re-{pid}",
                                "amount": Decimal("500.00"),
                                "currency": "USD",
                                "refunded_at": paid + timedelta(days=7),
                            }
                        )
            if made >= n_meetings:
                break
        spend = []
        day = first_day
        while day <= today:
            for source in SOURCES:
                for campaign in CAMPAIGNS:
                    spend.append(
                        {
                            "org_id": org.pk,
                            "granularity": "day",
                            "date": day,
                            "source": source,
                            "campaign": campaign,
                            "amount": Decimal(random.randint(50, 400)),
                            "currency": "USD",
                        }
                    )
            day += timedelta(days=1)
        self.stdout.write(f"generated in {time.perf_counter() - started:.1f}s; loading with COPY…")
        t = time.perf_counter()
        for model, rows in (
            (Contact, contacts),
            (Meeting, meetings),
            (PostCallForm, pcfs),
            (Deal, deals),
            (Payment, payments),
            (Refund, refunds),
        ):
            _copy(model, rows)
            _sync_sequence(model)
        AdSpend.objects.bulk_create([AdSpend(**row) for row in spend], batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(
            f"loaded {len(contacts)} contacts, {len(meetings)} calls, {len(pcfs)} PCFs, "
            f"{len(deals)} deals, {len(payments)} payments, {len(refunds)} refunds, "
            f"{len(spend)} spend rows in {time.perf_counter() - t:.1f}s"
        )
        t = time.perf_counter()
        rows = rollup_rebuild(org=org)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE kpis_dailyrollup")
        self.stdout.write(f"rollup_rebuild: {rows} rows in {time.perf_counter() - t:.1f}s")
        org.settings = {"bench_meetings": n_meetings}
        org.save(update_fields=["settings"])
        return org

    # --- timings -----------------------------------------------------------------------------

    def _time(self, fn, repeat: int) -> tuple[float, float]:
        fn()  # warm-up: connection, caches, plans
        fn()
        samples = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t) * 1000)
        return statistics.median(samples), _pct(samples, 95)

    def _measure(self, org, manager, closer, repeat):
        client = Client(HTTP_HOST=HOST)
        client.force_login(manager)
        today = timezone.localdate(timezone=org.tzinfo)
        last_month = month_bounds(month_bounds(today)[0] - timedelta(days=1))
        quarter_start = month_bounds(
            month_bounds(last_month[0] - timedelta(days=1))[0] - timedelta(days=1)
        )[0]
        first = last_month[0]
        for _ in range(23):
            first = month_bounds(first - timedelta(days=1))[0]
        ranges = {
            # This month so far: day rows, plus today's calls from the raw rows.
            "mtd": (month_bounds(today)[0], today),
            "month": last_month,
            "quarter": (quarter_start, last_month[1]),
            "24m": (first, last_month[1]),
        }
        results = {"summary": {}, "page": {}, "raw": {}}
        self.stdout.write(f"{'case':<28}{'p50 ms':>10}{'p95 ms':>10}")
        for label, (start, end) in ranges.items():
            for who in ("all", "closer"):
                params = {"start": start.isoformat(), "end": end.isoformat()}
                page_params = dict(params)
                if who == "closer":
                    params["closer"] = closer.email
                    page_params["closer"] = closer.pk

                def summary(params=params):
                    response = client.get("/kpis/summary.json", params)
                    assert response.status_code == 200, response.status_code

                def page(params=page_params):
                    response = client.get("/dashboard/", params)
                    assert response.status_code == 200, response.status_code

                def raw(start=start, end=end, who=who):
                    kpi_summary(
                        org=org,
                        start=start,
                        end=end,
                        closer=closer if who == "closer" else None,
                        raw=True,
                    )

                case = f"{label}/{who}"
                for kind, fn, n in (
                    ("summary", summary, repeat),
                    ("page", page, repeat),
                    ("raw", raw, max(3, repeat // 4)),
                ):
                    p50, p95 = self._time(fn, n)
                    results[kind][case] = (p50, p95)
                    self.stdout.write(f"{kind + ' ' + case:<28}{p50:>10.1f}{p95:>10.1f}")
        summary_24 = max(results["summary"][c][1] for c in ("24m/all", "24m/closer"))
        raw_24 = max(results["raw"][c][1] for c in ("24m/all", "24m/closer"))
        final = {
            "meetings": Meeting.objects.filter(org=org).count(),
            "rollup_rows": DailyRollup.objects.filter(org=org).count(),
            "summary_p50_ms": round(max(v[0] for v in results["summary"].values()), 1),
            "summary_p95_ms": round(max(v[1] for v in results["summary"].values()), 1),
            "page_p50_ms": round(max(v[0] for v in results["page"].values()), 1),
            "page_p95_ms": round(max(v[1] for v in results["page"].values()), 1),
            "raw_24m_p95_ms": round(raw_24, 1),
            "summary_24m_p95_ms": round(summary_24, 1),
            "speedup_24m": round(raw_24 / summary_24, 1) if summary_24 else None,
        }
        self.stdout.write(json.dumps(final))
