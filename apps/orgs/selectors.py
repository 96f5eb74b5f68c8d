from datetime import date, timedelta

from django.db.models import QuerySet

from apps.orgs.calendar import org_day_start
from apps.orgs.models import AuditLog, Organization, User


def audit_log_list(
    *,
    org: Organization,
    action: str = "",
    actor: User | None = None,
    start: date | None = None,
    end: date | None = None,
) -> QuerySet[AuditLog]:
    """The org's audit rows, newest first; ``start`` and ``end`` are days in the org's time
    zone, both included."""
    rows = AuditLog.objects.for_org(org).select_related("actor").order_by("-created_at", "-pk")
    if action:
        rows = rows.filter(action=action)
    if actor is not None:
        rows = rows.filter(actor=actor)
    if start is not None:
        rows = rows.filter(created_at__gte=org_day_start(org, start))
    if end is not None:
        rows = rows.filter(created_at__lt=org_day_start(org, end + timedelta(days=1)))
    return rows


def audit_actions(*, org: Organization) -> list[str]:
    return list(
        AuditLog.objects.for_org(org).order_by("action").values_list("action", flat=True).distinct()
    )
