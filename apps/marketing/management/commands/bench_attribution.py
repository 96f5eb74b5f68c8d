"""Benchmark of the attribution page at scale: a synthetic org (200,000 contacts, 1M touchpoints
by default), its journey table, then p50/p95 of the page per model with the results cached, and
the cold computations (rule-based and data-driven) beside them. Not a test: it prints figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/attr_bench \\
        python manage.py bench_attribution --contacts 200000 --touches 1000000

The last line is one JSON object (page_p95_ms, compute_s per model, journeys_rebuild_s, ...).
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
from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.contacts.models import Contact, Touchpoint
from apps.deals.models import Deal
from apps.kpis.management.commands.bench_dashboard import _copy, _next_id, _pct, _sync_sequence
from apps.kpis.selectors import month_bounds
from apps.marketing.models import Campaign, CampaignDay, Journey, JourneyState
from apps.marketing.selectors import MODEL_NAMES, Query, attribution_result
from apps.marketing.services import journey_state_bump, journeys_rebuild
from apps.meetings.models import Meeting
from apps.orgs.models import Membership, Organization, Role, User
from apps.payments.models import Payment, Refund

SLUG = "bench-attribution"
HOST = "localhost"
CHANNELS = {
    "facebook": ("spring-webinar", "vsl-cold", "retarget-30d"),
    "instagram": ("reels",),
    "google": ("brand", "high-intent"),
    "youtube": ("case-study", "long-form"),
    "tiktok": ("ugc-hooks", "ugc-demo"),
    "linkedin": ("founder-posts",),
    "newsletter": ("weekly",),
    "": ("",),
}
SPAN_DAYS = 120  # four months of touches; the page measures the last whole month


class Command(BaseCommand):
    help = "Builds a synthetic org and prints p50/p95 of the attribution page per model."

    def add_arguments(self, parser):
        parser.add_argument("--contacts", type=int, default=200_000)
        parser.add_argument("--touches", type=int, default=1_000_000)
        parser.add_argument("--repeat", type=int, default=20, help="timed runs per case")
        parser.add_argument("--seed", type=int, default=20)
        parser.add_argument("--reuse", action="store_true", help="keep a bench org of that size")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL (set DATABASE_URL).")
        settings.DEBUG = False
        random.seed(options["seed"])
        size = {"contacts": options["contacts"], "touches": options["touches"]}
        org = Organization.objects.filter(slug=SLUG).first()
        figures: dict = {}
        if org is None or not options["reuse"] or org.settings.get("bench") != size:
            org = self._build(**size)
            t = time.perf_counter()
            rows = journeys_rebuild(org=org)
            figures["journeys_rebuild_s"] = round(time.perf_counter() - t, 1)
            figures["journey_rows"] = rows
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE marketing_journey")
            self.stdout.write(f"journeys_rebuild: {rows} rows in {figures['journeys_rebuild_s']}s")
        figures["contacts"] = Contact.objects.filter(org=org).count()
        figures["touchpoints"] = Touchpoint.objects.filter(org=org).count()
        self._measure(org, options["repeat"], figures)

    # --- data --------------------------------------------------------------------------------

    def _wipe(self):
        org = Organization.objects.filter(slug=SLUG).first()
        if org is None:
            return
        self.stdout.write("removing the previous bench org…")
        with connection.cursor() as cursor:
            for model in (
                Journey, JourneyState, CampaignDay, Campaign, Refund, Payment, Deal, Meeting,
                Touchpoint, Contact,
            ):  # fmt: skip
                cursor.execute(f'DELETE FROM "{model._meta.db_table}" WHERE org_id = %s', [org.pk])  # noqa: S608
        org.delete()

    def _build(self, *, contacts: int, touches: int) -> Organization:
        self._wipe()
        started = time.perf_counter()
        org = Organization.objects.create(
            slug=SLUG, name="Bench attribution", timezone="America/New_York", currency="USD"
        )
        user, _ = User.objects.get_or_create(email="manager@bench-attribution.example")
        Membership.objects.update_or_create(user=user, org=org, defaults={"role": Role.MANAGER})
        tz = org.tzinfo
        today = timezone.localdate(timezone=tz)
        first_day = today - timedelta(days=SPAN_DAYS)
        sources = list(CHANNELS)
        weights = [30, 8, 14, 10, 12, 4, 6, 16]
        contact_id, touch_id = _next_id(Contact), _next_id(Touchpoint)
        meeting_id, deal_id = _next_id(Meeting), _next_id(Deal)
        payment_id, refund_id = _next_id(Payment), _next_id(Refund)
        rows = {model: [] for model in (Contact, Touchpoint, Meeting, Deal, Payment, Refund)}
        per_contact = touches / contacts
        made = 0
        for c in range(contacts):
            cid = contact_id + c
            seen = datetime.combine(
                first_day + timedelta(days=random.randrange(SPAN_DAYS)), datetime.min.time(), tz
            ) + timedelta(minutes=random.randrange(24 * 60))
            left = contacts - c
            k = touches - made if left == 1 else max(1, round(random.expovariate(1 / per_contact)))
            k = min(k, touches - made - (left - 1)) if left > 1 else k
            k = max(k, 1)
            at = seen
            first_source = first_campaign = ""
            for j in range(k):
                source = random.choices(sources, weights)[0]
                campaign = random.choice(CHANNELS[source])
                if j == 0:
                    first_source, first_campaign = source, campaign
                rows[Touchpoint].append(
                    {
                        "id": touch_id + made,
                        "org_id": org.pk,
                        "contact_id": cid,
                        "kind": "form" if j == 0 else random.choice(("form", "booking")),
                        "occurred_at": at,
                        "utm_source": source,
                        "utm_campaign": campaign,
                    }
                )
                made += 1
                at += timedelta(hours=random.randint(2, 24 * 6))
            rows[Contact].append(
                {
                    "id": cid,
                    "org_id": org.pk,
                    "first_name": "Lead",
                    "last_name": str(c),
                    "primary_email": f"lead{c}@bench-attribution.example",
                    "original_source": first_source,
                    "original_campaign": first_campaign,
                    "first_seen_at": seen,
                }
            )
            if random.random() < 0.3:
                mid = meeting_id + len(rows[Meeting])
                rows[Meeting].append(
                    {
                        "id": mid,
                        "org_id": org.pk,
                        "contact_id": cid,
                        "provider": "calendly",
                        "external_id": f"bench-attr-{mid}",
                        "call_type": "triage",
                        "status": "completed",
                        "scheduled_at": seen + timedelta(days=2),
                        "booked_at": seen + timedelta(hours=3),
                        "questions": "[]",
                    }
                )
            if random.random() < 0.12:
                closed = at + timedelta(hours=random.randint(1, 48))
                value = Decimal(random.choice((3000, 5000, 8000, 12000)))
                did = deal_id + len(rows[Deal])
                rows[Deal].append(
                    {
                        "id": did, "org_id": org.pk, "contact_id": cid, "provider": "close",
                        "external_id": f"bench-attr-deal-{did}", "status": "won", "value": value,
                        "currency": "USD", "closed_at": closed,
                    }
                )  # fmt: skip
                pid = payment_id + len(rows[Payment])
                rows[Payment].append(
                    {
                        "id": pid, "org_id": org.pk, "contact_id": cid, "deal_id": did,
                        "provider": "stripe", "external_id": f"bench-attr-pi-{pid}",
                        "amount": value / 2, "currency": "USD", "status": "succeeded",
                        "paid_at": closed + timedelta(hours=1),
                    }
                )  # fmt: skip
                if random.random() < 0.05:
                    rows[Refund].append(
                        {
                            "id": refund_id + len(rows[Refund]), "org_id": org.pk,
                            "payment_id": pid, "provider": "stripe",
                            "external_id": f"bench-attr-re-{pid}", "amount": Decimal("500.00"),
                            "currency": "USD", "refunded_at": closed + timedelta(days=7),
                        }
                    )  # fmt: skip
        self.stdout.write(f"generated in {time.perf_counter() - started:.1f}s; loading with COPY…")
        t = time.perf_counter()
        for model, batch in rows.items():
            _copy(model, batch)
            _sync_sequence(model)
        days = []
        for source, campaigns in CHANNELS.items():
            if source in ("", "newsletter"):
                continue
            for name in campaigns:
                campaign = Campaign.objects.create(org=org, channel=source, name=name)
                for d in range(SPAN_DAYS + 1):
                    shown = random.randint(2000, 20000)
                    days.append(
                        CampaignDay(
                            org=org, campaign=campaign, date=first_day + timedelta(days=d),
                            spend=Decimal(random.randint(50, 500)), impressions=shown,
                            clicks=int(shown * random.uniform(0.002, 0.03)),
                        )
                    )  # fmt: skip
        CampaignDay.objects.bulk_create(days, batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(
            f"loaded {len(rows[Contact])} contacts, {len(rows[Touchpoint])} touchpoints, "
            f"{len(rows[Payment])} payments, {len(days)} campaign days in "
            f"{time.perf_counter() - t:.1f}s"
        )
        org.settings = {"bench": {"contacts": contacts, "touches": touches}}
        org.save(update_fields=["settings"])
        return org

    # --- timings -----------------------------------------------------------------------------

    def _time(self, fn, repeat: int) -> tuple[float, float]:
        fn()
        samples = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t) * 1000)
        return statistics.median(samples), _pct(samples, 95)

    def _measure(self, org, repeat: int, figures: dict) -> None:
        today = timezone.localdate(timezone=org.tzinfo)
        start, end = month_bounds(month_bounds(today)[0] - timedelta(days=1))
        journey_state_bump(org=org)  # nothing cached: the cold figures are cold
        compute = {}
        for model in MODEL_NAMES:
            t = time.perf_counter()
            attribution_result(
                org=org, query=Query(start=start, end=end, model=model), compute=True
            )
            attribution_result(
                org=org, query=Query(start=start, end=end, model=model, value="revenue"),
                compute=True,
            )  # fmt: skip
            compute[model] = round(time.perf_counter() - t, 2)
            self.stdout.write(f"compute {model:<16} (both values) {compute[model]:>8.2f}s")
        figures["compute_s"] = compute
        figures["month_conversions"] = Journey.objects.filter(
            org=org, kind="payment", converted_at__date__gte=start, converted_at__date__lte=end
        ).count()
        manager = Membership.objects.get(org=org, role=Role.MANAGER).user
        client = Client(HTTP_HOST=HOST)
        client.force_login(manager)
        page = {}
        self.stdout.write(f"{'page (cached results)':<28}{'p50 ms':>10}{'p95 ms':>10}")
        for model in (*MODEL_NAMES, "compare"):
            params = {"start": start.isoformat(), "end": end.isoformat(), "model": model}

            def get(params=params, htmx=False):
                headers = {"HX-Request": "true"} if htmx else {}
                response = client.get("/attribution/", params, headers=headers)
                assert response.status_code == 200, response.status_code
                assert b"Computing" not in response.content, "a result was not cached"

            p50, p95 = self._time(get, repeat)
            page[model] = (round(p50, 1), round(p95, 1))
            self.stdout.write(f"{model:<28}{p50:>10.1f}{p95:>10.1f}")
        figures["page_p50_ms"] = max(v[0] for v in page.values())
        figures["page_p95_ms"] = max(v[1] for v in page.values())
        figures["page_ms"] = page
        self.stdout.write(json.dumps(figures))
