"""Benchmark of deal probability: a synthetic org with several thousand closed deals over
18 months (contacts, touches, triage and solution calls, PCFs), trained through the real
service (features in SQL, then the model), in two variants: features that carry signal, and
outcomes that ignore every feature. Not a test: it prints figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/attr_bench \\
        python manage.py bench_forecast --deals 5000

Prints per variant the holdout AUC and Brier score of the model against the stage base-rate
baseline, and the seconds spent; the last line is every figure as one JSON object. The bench
orgs are deleted afterwards unless --keep.
"""

from __future__ import annotations

import json
import math
import random
import time
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from apps.contacts.models import Contact, Touchpoint
from apps.deals.models import Deal
from apps.forecast.models import ForecastModel, Prediction
from apps.forecast.selectors import forecast_outcomes, forecast_units
from apps.forecast.services import forecast_train
from apps.meetings.models import CallType, Meeting, PostCallForm
from apps.orgs.models import Organization, TeamMember
from apps.orgs.services import organization_create
from attribution.forecast.metrics import clearly_better

SOURCES = ("youtube", "facebook", "google", "instagram", "organic")
CAMPAIGNS = ("webinar", "vsl", "retargeting", "brand")
VALUES = (3000, 5000, 8000, 12000)


def _win_probability(rng, *, signal, source, touches, attended, offer, closer, value) -> float:
    if not signal:
        return 0.3  # the same for everyone: nothing to learn beyond the base rate
    logit = (
        -2.2
        + {"youtube": 1.0, "facebook": -0.6, "organic": 0.4}.get(source, 0.0)
        + 0.35 * (touches - 3)
        + (0.9 if attended else -1.5)
        + (1.2 if offer else 0.0)
        + (0.6 if closer == 0 else -0.3 if closer == 3 else 0.0)
        - 0.8 * math.log(value / 5000)
    )
    return 1 / (1 + math.exp(-logit))


class Command(BaseCommand):
    help = "Trains deal probability on synthetic histories and prints AUC against the baseline."

    def add_arguments(self, parser):
        parser.add_argument("--deals", type=int, default=5000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--keep", action="store_true", help="keep the bench orgs")

    def handle(self, *args, deals, seed, keep, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL (set DATABASE_URL).")
        settings.DEBUG = False
        t = time.perf_counter()
        import sklearn.linear_model  # noqa: F401 - a worker imports it once; timed apart

        figures = {"sklearn_import_s": round(time.perf_counter() - t, 2)}
        for variant, signal in (("signal", True), ("no_signal", False)):
            org, _ = organization_create(slug=f"bench-forecast-{variant}", name=f"Bench {variant}")
            if Deal.objects.for_org(org).exists():
                raise CommandError(f"{org.slug} already has data: delete it or use another DB.")
            t = time.perf_counter()
            self._build(org, deals, random.Random(seed), signal=signal)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # as autovacuum would after a bulk load
            built = time.perf_counter() - t
            now = timezone.now()
            t = time.perf_counter()
            units = forecast_units(org=org, now=now)
            outcomes = forecast_outcomes(units, now=now)
            features_s = time.perf_counter() - t
            model = forecast_train(org=org, now=now)
            row = {
                "deals": deals,
                "outcomes": model.n_outcomes,
                "won": model.n_won,
                "kind": model.kind,
                "n_train": model.n_train,
                "n_holdout": model.n_holdout,
                "auc": _r(model.auc),
                "baseline_auc": _r(model.baseline_auc),
                "brier": _r(model.brier),
                "baseline_brier": _r(model.baseline_brier),
                "feature_sql_s": round(features_s, 2),
                "train_total_s": model.training_seconds,
                "build_s": round(built, 1),
            }
            assert len(outcomes) == model.n_outcomes
            figures[variant] = row
            beats = clearly_better(model.auc, model.baseline_auc, model.calibration)
            row["beats_baseline"] = beats
            verdict = (
                "beats the stage baseline by more than two standard errors"
                if beats
                else "does NOT beat the stage baseline (within two standard errors)"
            )
            self.stdout.write(
                f"{variant:>9}: {row['outcomes']} outcomes ({row['won']} won), {model.kind}, "
                f"holdout {row['n_holdout']}: AUC {row['auc']} vs baseline {row['baseline_auc']}, "
                f"Brier {row['brier']} vs {row['baseline_brier']}; {verdict}. "
                f"Features in SQL {row['feature_sql_s']} s, whole training "
                f"{row['train_total_s']} s (data built in {row['build_s']} s)"
            )
            if not keep:
                _delete(org)
        self.stdout.write(json.dumps(figures))

    @transaction.atomic
    def _build(self, org: Organization, n: int, rng: random.Random, *, signal: bool) -> None:
        closers = [
            TeamMember.objects.create(org=org, name=f"Closer {i}", is_closer=True) for i in range(4)
        ]
        now = timezone.now()
        plans = []
        for i in range(n):
            # Outcomes spread over the 18 months before the 90-day window closes.
            t0 = now - timedelta(days=rng.uniform(95, 540))
            source = rng.choice(SOURCES)
            touches = rng.randint(1, 7)
            triage = rng.random() < 0.75
            attended = rng.random() < 0.7
            offer = attended and rng.random() < 0.6
            closer = rng.randrange(len(closers))
            value = rng.choice(VALUES)
            p = _win_probability(
                rng, signal=signal, source=source, touches=touches, attended=attended,
                offer=offer, closer=closer, value=value,
            )  # fmt: skip
            plans.append((i, t0, source, touches, triage, attended, offer, closer, value, p))
        contacts = Contact.objects.bulk_create(
            [
                Contact(org=org, first_name=f"Lead{i}", original_source=source,
                        original_campaign=rng.choice(CAMPAIGNS),
                        first_seen_at=t0 - timedelta(days=rng.uniform(touches, 60)))
                for i, t0, source, touches, *_ in plans
            ],
            batch_size=2000,
        )  # fmt: skip
        touch_rows, meetings = [], []
        for contact, (i, t0, _, touches, triage, *_rest) in zip(contacts, plans, strict=True):
            for k in range(touches):
                at = contact.first_seen_at + (t0 - contact.first_seen_at) * (k / touches)
                touch_rows.append(Touchpoint(org=org, contact=contact, kind="form", occurred_at=at))
            if triage:
                meetings.append(
                    Meeting(org=org, contact=contact, external_id=f"https://bench/t/{i}",
                            call_type=CallType.TRIAGE, status=Meeting.Status.COMPLETED,
                            scheduled_at=t0 - timedelta(days=3), showed=True)
                )  # fmt: skip
        Touchpoint.objects.bulk_create(touch_rows, batch_size=5000)
        Meeting.objects.bulk_create(meetings, batch_size=5000)
        solutions = Meeting.objects.bulk_create(
            [
                Meeting(org=org, contact=contact, external_id=f"https://bench/s/{i}",
                        call_type=CallType.SOLUTION, closer=closers[closer],
                        status=Meeting.Status.COMPLETED if attended else Meeting.Status.NO_SHOW,
                        showed=attended, scheduled_at=t0)
                for contact, (i, t0, _s, _t, _tr, attended, _o, closer, *_) in zip(
                    contacts, plans, strict=True
                )
            ],
            batch_size=5000,
        )  # fmt: skip
        pcfs = PostCallForm.objects.bulk_create(
            [
                PostCallForm(org=org, meeting=m, lead_showed=True, offer_made=plan[6])
                for m, plan in zip(solutions, plans, strict=True)
                if plan[5]
            ],
            batch_size=5000,
        )  # fmt: skip
        pcf_of = {pcf.meeting_id: pcf for pcf in pcfs}
        deal_rows = []
        for contact, meeting, plan in zip(contacts, solutions, plans, strict=True):
            i, t0, _s, _t, _tr, _a, _o, closer, value, p = plan
            won = rng.random() < p
            deal_rows.append(
                Deal(org=org, contact=contact, meeting=meeting, pcf=pcf_of.get(meeting.pk),
                     status=Deal.Status.WON if won else Deal.Status.LOST, value=Decimal(value),
                     currency=org.currency, closer=closers[closer],
                     closed_at=t0 + timedelta(days=rng.uniform(1, 80)))
            )  # fmt: skip
        Deal.objects.bulk_create(deal_rows, batch_size=5000)


def _delete(org: Organization) -> None:
    """Drops the bench org's rows table by table: Django's cascade would load them all."""
    models = (Prediction, ForecastModel, Deal, PostCallForm, Meeting, Touchpoint, Contact)
    with transaction.atomic(), connection.cursor() as cursor:
        for model in models:
            # Table names come from the models, never from input.
            cursor.execute(f'DELETE FROM "{model._meta.db_table}" WHERE org_id = %s', [org.pk])  # noqa: S608
        org.delete()


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
