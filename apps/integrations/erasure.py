"""The webhook inbox's part of a GDPR erasure (registered with apps.contacts.privacy)."""

from django.db import connection

from apps.contacts.privacy import ERASED_BODY
from apps.integrations.models import WebhookEvent
from apps.orgs.models import Organization


def webhook_events_erase(org: Organization, tokens: set[str]) -> int:
    """Blanks the org's inbox deliveries holding any of ``tokens``; an open one is failed."""
    if not tokens:
        return 0
    events = WebhookEvent.objects.for_org(org).exclude(body=ERASED_BODY)
    needles = [t.encode() for t in sorted(tokens)]
    if connection.vendor == "postgresql":
        # One pass over the org's inbox in the database, not every body through Python.
        sql = (
            f"SELECT id FROM {WebhookEvent._meta.db_table} "  # noqa: S608 (table name only)
            "WHERE org_id = %s AND EXISTS "
            "(SELECT 1 FROM unnest(%s::bytea[]) AS t(n) WHERE position(t.n IN body) > 0)"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [org.pk, needles])
            hit = [row[0] for row in cursor.fetchall()]
    else:
        hit = [
            pk
            for pk, body in events.values_list("pk", "body").iterator(chunk_size=500)
            if any(n in bytes(body) for n in needles)
        ]
    hits = events.filter(pk__in=hit)
    open_ = hits.filter(status__in=[WebhookEvent.Status.PENDING, WebhookEvent.Status.PROCESSING])
    open_.update(status=WebhookEvent.Status.FAILED, error="erased before it was processed")
    return hits.update(body=ERASED_BODY, headers={})
