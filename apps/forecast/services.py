"""Deal-probability writes: train a new model version for an org and score its pipeline.

Probabilities are stored, not computed on read: the nightly task trains and then rescores every
open deal and upcoming solution call in one go, so the lists and the dashboard read one indexed
table (a deal or a call that arrived since shows "—" until the next run, or "Train now").
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apps.forecast.models import ForecastModel, Prediction
from apps.forecast.selectors import Unit, forecast_outcomes, forecast_units
from apps.meetings.models import CallType, Meeting
from apps.orgs.background import enqueue
from apps.orgs.models import Organization
from apps.orgs.services import audit_log_write
from attribution.forecast.model import MIN_OUTCOMES, predict, train

logger = logging.getLogger(__name__)

__all__ = ["forecast_score", "forecast_train", "forecast_train_request"]


def forecast_train(
    *, org: Organization, now: datetime | None = None, min_outcomes: int = MIN_OUTCOMES
) -> ForecastModel:
    """Trains a new version on the org's closed outcomes of the last 18 months (the fallback
    below ``min_outcomes``), stores it with its holdout figures, and rescores the pipeline."""
    now = now or timezone.now()
    started = time.perf_counter()
    units = forecast_units(org=org, now=now)
    trained = train(forecast_outcomes(units, now=now), min_outcomes=min_outcomes)
    seconds = time.perf_counter() - started
    e = trained.evaluation
    with transaction.atomic():
        # The lock makes two trainings of one org at once take turns for the version number.
        Organization.objects.select_for_update().filter(pk=org.pk).first()
        last = ForecastModel.objects.for_org(org).aggregate(v=Max("version"))["v"] or 0
        model = ForecastModel(
            org=org,
            version=last + 1,
            trained_at=now,
            kind=trained.kind,
            reason=trained.reason,
            params=trained.params,
            n_outcomes=trained.n_outcomes,
            n_won=trained.n_won,
            n_train=e.n_train,
            n_holdout=e.n_holdout,
            auc=e.auc,
            brier=e.brier,
            calibration=e.calibration,
            baseline_auc=e.baseline_auc,
            baseline_brier=e.baseline_brier,
            training_seconds=round(seconds, 3),
        )
        model.full_clean()
        model.save()
        model.n_scored = forecast_score(org=org, model=model, units=units, now=now)
        model.save(update_fields=["n_scored"])
    logger.info(
        "forecast trained",
        extra={"org": org.pk, "version": model.version, "kind": model.kind, "auc": model.auc},
    )
    return model


def forecast_score(
    *,
    org: Organization,
    model: ForecastModel,
    units: list[Unit] | None = None,
    now: datetime | None = None,
) -> int:
    """Replaces the org's stored probabilities with ``model``'s for every open deal and every
    upcoming solution call. A call whose lead already has an open deal gets that deal's."""
    now = now or timezone.now()
    if units is None:
        units = forecast_units(org=org, now=now)
    scored = [u for u in units if u.is_open]
    p = predict(model.params, [u.features for u in scored])
    rows = []
    open_deal_of_contact: dict[int, Prediction] = {}
    called = set()
    for unit, probability in zip(scored, p, strict=True):
        row = Prediction(
            org=org,
            model=model,
            deal_id=unit.pk if unit.kind == "deal" else None,
            meeting_id=unit.pk if unit.kind == "call" else None,
            probability=None if probability != probability else float(probability),  # NaN
            stage=unit.features.stage,
            scored_at=now,
        )
        rows.append(row)
        if unit.kind == "deal" and unit.contact_id is not None:
            open_deal_of_contact.setdefault(unit.contact_id, row)
        else:
            called.add(unit.pk)
    upcoming = (
        Meeting.objects.for_org(org)
        .filter(
            call_type=CallType.SOLUTION,
            status=Meeting.Status.SCHEDULED,
            scheduled_at__gte=now,
            contact_id__in=list(open_deal_of_contact),
        )
        .exclude(pk__in=called)
        .values_list("pk", "contact_id")
    )
    for meeting_id, contact_id in upcoming:
        deal_row = open_deal_of_contact[contact_id]
        rows.append(
            Prediction(
                org=org,
                model=model,
                meeting_id=meeting_id,
                probability=deal_row.probability,
                stage=deal_row.stage,
                scored_at=now,
            )
        )
    with transaction.atomic():
        Prediction.objects.for_org(org).delete()
        Prediction.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def forecast_train_request(*, org: Organization, actor) -> None:
    """A manager's "Train now": audited, and the training queued once the audit row commits."""
    from apps.forecast.tasks import forecast_train_task

    with transaction.atomic():
        audit_log_write(org=org, actor=actor, action="forecast.train_requested")
        transaction.on_commit(lambda: enqueue(forecast_train_task, org.pk))
