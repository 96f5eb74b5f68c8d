"""Inbound webhooks: verify, store in the inbox, enqueue; then process, retry, replay.

The view (apps/integrations/views.py) only maps HTTP to :func:`webhook_receive`; the Celery task
only calls :func:`webhook_event_process`. The inbox row is written before anything else happens,
unique on (org, provider, event id), so a delivery is stored once however often it arrives, and
a row still pending after a crash is enqueued again by :func:`webhook_events_requeue`.
"""

from __future__ import annotations

import hashlib
import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from apps.integrations.errors import PermanentError
from apps.integrations.ingest import Outcome, ingest_record, parse_payload
from apps.integrations.limits import field_limits
from apps.integrations.models import Credential, WebhookEvent
from apps.integrations.providers import PROVIDERS, REGISTRY, Provider, provider_named
from apps.integrations.providers.base import header
from apps.integrations.services import credential_values
from apps.meetings.services import MeetingNotYetKnown
from apps.orgs import publisher
from apps.orgs.models import Organization, User
from apps.orgs.services import audit_log_write, audit_webhook_rejection
from attribution.signatures import SignatureError
from attribution.sources import clean
from attribution.sources.records import ParseError, UnsupportedEvent
from config import log_context

logger = logging.getLogger(__name__)

COMMON_HEADERS = ("content-type", "user-agent")

# Retries of a failing event: exponential backoff with full jitter, capped (DESIGN.md).
MAX_ATTEMPTS = 8
RETRY_BASE_SECONDS = 10
RETRY_CAP_SECONDS = 600
# Pending rows older than this were never enqueued (a crash between commit and enqueue, a broker
# outage) and are enqueued again; rows with attempts behind them wait out their retries first.
REQUEUE_GRACE = timedelta(minutes=5)
REQUEUE_RETRYING_AFTER = timedelta(hours=2)
REQUEUE_BATCH = 1000
ERROR_MAX_CHARS = 2000


@dataclass(frozen=True)
class Answer:
    """What the endpoint answers: an HTTP status and a small JSON body."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    event: WebhookEvent | None = None

    @property
    def duplicate(self) -> bool:
        return self.body.get("duplicate") is True


# --- receiving --------------------------------------------------------------------------------


# The acknowledgement path is the hot one (hundreds of deliveries a second): each web process
# keeps an org's row and decrypted webhook secrets instead of two queries and a decryption per
# delivery. Saving or deleting an organisation or credential, in any process, writes a new
# version to the shared cache (Redis) once committed (signals in apps.py); every delivery reads
# that version first, one GET, and a process whose copy was taken under another version reads
# the database again, so a new secret verifies everywhere at once. RECEIVER_TTL only bounds a
# copy whose change never reached the cache (Redis down when it was saved).
RECEIVER_TTL = timedelta(seconds=30)
RECEIVERS_VERSION_KEY = "integrations:webhook-receivers:version"
_UNKNOWN_VERSION = object()
_receivers: dict[tuple[str, str], tuple[datetime, object, Organization, list[str]]] = {}


def _receivers_version() -> object:
    try:
        return cache.get(RECEIVERS_VERSION_KEY)
    except Exception:  # a cache outage must not turn an acknowledgement into a 500
        logger.warning("webhook receivers: cache unreachable, reading secrets from the database")
        return _UNKNOWN_VERSION


def webhook_receiver(*, org_slug: str, provider: str) -> tuple[Organization | None, list[str]]:
    """The org a webhook URL names and the secrets its deliveries are signed with."""
    key = (org_slug, provider)
    now = timezone.now()
    # Read before the database: a change committed after this read bumps the version again,
    # so a copy taken from the older rows is never kept under the newer version.
    version = _receivers_version()
    hit = _receivers.get(key)
    if hit is not None and now < hit[0] and hit[1] == version:
        return hit[2], hit[3]
    org = Organization.objects.filter(slug=org_slug).first()
    if org is None:
        return None, []  # not cached: unknown slugs must not grow the table
    name = provider_named(provider).signing_credential
    secrets = credential_values(org=org, provider=provider, name=name)
    if version is _UNKNOWN_VERSION:
        return org, secrets  # no copy: other processes' changes could not be seen
    expires = now + RECEIVER_TTL
    if len(secrets) > 1:  # never accept a rotated-out secret past its grace
        grace = Credential.objects.filter(org=org, provider=provider, name=name)
        expires = min(expires, grace.values_list("previous_until", flat=True).get())
    _receivers[key] = (expires, version, org, secrets)
    return org, secrets


def _receivers_version_bump() -> None:
    try:
        cache.set(RECEIVERS_VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        logger.warning(
            "webhook receivers: cache unreachable, other processes see the change within %ss",
            int(RECEIVER_TTL.total_seconds()),
        )


def webhook_receivers_forget(**kwargs) -> None:
    _receivers.clear()
    # After the commit: bumped earlier, another process could read the old rows under the new
    # version and keep them.
    transaction.on_commit(_receivers_version_bump, using=kwargs.get("using"))


def rejected_counter_key(*, org_id: int, provider: str, day: date) -> str:
    return f"webhooks:rejected:{org_id}:{provider}:{day.isoformat()}"


def _count_rejection(org: Organization, provider: str, reason: str) -> None:
    # Rejections are not stored in the inbox (a forger must not be able to fill it); a counter
    # in the cache is enough to show on the integrations page and to alert on.
    logger.warning("webhook rejected: org=%s provider=%s reason=%s", org.slug, provider, reason)
    key = rejected_counter_key(org_id=org.pk, provider=provider, day=timezone.now().date())
    try:
        if not cache.add(key, 1, timeout=40 * 86400):
            cache.incr(key)
        audit_webhook_rejection(org=org, provider=provider)
    except Exception:  # a cache outage must not turn a 401 into a 500
        logger.exception("could not count a rejected webhook")


def rejected_count(*, org: Organization, provider: str, day: date) -> int:
    try:
        return int(cache.get(rejected_counter_key(org_id=org.pk, provider=provider, day=day)) or 0)
    except Exception:
        return 0


def _fit(value: str, limit: int = 255) -> str:
    return value if len(value) <= limit else "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def _parse(*, org: Organization, provider: str, envelope: Any) -> object:
    """The one typed record of a delivery, fitted to the columns it is saved into.

    Raises ParseError for a body the app refuses (the endpoint's 400) and UnsupportedEvent
    for an event it does not process. Any other error of a parser is an odd shape a parser
    did not foresee: a ParseError too, naming only the exception class, never a value.
    """
    if not isinstance(envelope, dict):
        raise ParseError("body is not a JSON object")
    try:
        record = parse_payload(org=org, provider=provider, envelope=envelope)
    except (ParseError, UnsupportedEvent):
        raise
    except Exception as exc:
        logger.warning(
            "webhook body unreadable: org=%s provider=%s error=%s",
            org.slug,
            provider,
            type(exc).__name__,
        )
        raise ParseError(
            f"body does not have the shape of a {provider} event ({type(exc).__name__})"
        ) from None
    return clean.fit_record(record, field_limits())


def webhook_receive(
    *,
    org: Organization,
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime | None = None,
    secrets: list[str] | None = None,
) -> Answer:
    """Verify, validate and store one delivery; enqueue it once the row is committed.

    Nothing is written for a rejected delivery (401, 400) or a duplicate (200).
    """
    spec = provider_named(provider, default=None)
    if spec is None:
        return Answer(404, {"error": "unknown provider"})
    now = now or timezone.now()
    if secrets is None:
        secrets = credential_values(org=org, provider=provider, name=spec.signing_credential)
    try:
        spec.verify(secrets=secrets, headers=headers, body=body, now=now)
    except SignatureError as exc:
        _count_rejection(org, provider, exc.reason)
        # "stale" only after a good MAC (signatures.py), so it tells a forger nothing.
        return Answer(401, {"error": f"signature {exc.reason}"})
    except ValueError:
        # No secret stored (or one the scheme cannot use, e.g. a key that is not the hex it must be):
        # nothing can be verified.
        _count_rejection(org, provider, "not_configured")
        return Answer(401, {"error": "signature cannot be verified: no usable secret configured"})

    record = None
    try:
        # Depth-guarded, with NUL and lone surrogates cleaned out of every string: what is
        # stored below as the event id and type, and later as provenance, must be storable.
        envelope = clean.load_json(body)
        record = _parse(org=org, provider=provider, envelope=envelope)
    except ParseError as exc:
        return Answer(400, {"error": exc.message})
    except UnsupportedEvent:
        pass  # stored and acknowledged: a subscription wider than needed is not an error

    # An unsupported event was never fully parsed, so its fields may be of any type: only text
    # (attribution.sources._fields.text) is taken, and a body without a usable id is keyed by
    # its hash.
    event_id, event_type = spec.identify(envelope, headers, body, record)
    kept = {
        name: value
        for name in (*spec.kept_headers, *COMMON_HEADERS)
        if (value := header(headers, name)) is not None
    }

    def store() -> WebhookEvent:
        return WebhookEvent.objects.create(
            org=org,
            provider=provider,
            event_id=_fit(event_id),
            event_type=event_type[:100],
            body=body,
            headers=kept,
        )

    try:
        if transaction.get_autocommit():
            # One INSERT commits by itself: no BEGIN/COMMIT round trips on the hot path.
            event = store()
        else:
            with transaction.atomic():  # a savepoint inside the caller's transaction
                event = store()
    except IntegrityError:
        return Answer(200, {"ok": True, "duplicate": True})
    # After the commit (at once in autocommit mode), and off the request thread: the answer
    # says "stored", and a row whose publish is lost (a crash, a broker outage) is published
    # again by the requeue sweep. robust: nothing after the commit may turn it into a 500.
    transaction.on_commit(log_context.carried(lambda: _enqueue(event.pk)), robust=True)
    return Answer(200, {"ok": True}, event=event)


def _enqueue(event_pk: int) -> None:
    from apps.integrations.tasks import process_webhook_event  # tasks imports this module

    publisher.publish_soon(process_webhook_event, event_pk)


# --- processing -------------------------------------------------------------------------------


def retry_delay(retries: int, *, rng: random.Random | None = None) -> float:
    """Seconds before retry number ``retries + 1``: full jitter over a capped exponential."""
    ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2**retries)
    return (rng or random).uniform(ceiling / 2, ceiling)


def _raw_object(spec: Provider, envelope: Mapping[str, Any]) -> Mapping[str, Any]:
    # Provenance keeps the provider's object, not our parse of it.
    raw = spec.raw_object(envelope)
    return raw if isinstance(raw, Mapping) and raw else envelope


# Exceptions whose messages this app writes itself and that name fields and record ids only.
# Any other message may quote the body (a DataError quotes the offending value; a
# UnicodeEncodeError a fragment of it), and the row's error and the Celery log are no place
# for a person's data.
_OWN_MESSAGES = (ParseError, MeetingNotYetKnown)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, PermanentError):
        return str(exc)[:ERROR_MAX_CHARS]  # written from a value-free text already
    name = type(exc).__name__
    if isinstance(exc, _OWN_MESSAGES):
        return f"{name}: {exc}"[:ERROR_MAX_CHARS]
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate:
        return f"{name}: {type(cause).__name__} (SQLSTATE {sqlstate})"
    return f"{name} (message withheld: it may quote the body)"


class RetryableError(Exception):
    """What the task retries with: the error text of the row, never the original message."""


# Errors a body causes that no retry heals (a value a column refuses): failed at once.
_DETERMINISTIC = (DataError, ValidationError, UnicodeError, ArithmeticError)

IGNORED = "ignored: "


def webhook_event_process(*, event_pk: int, final: bool = False) -> Outcome | None:
    """Processes one inbox row exactly once; ``None`` when it was already processed.

    The row is locked for the whole run and marked processed in the same transaction as the
    writes it causes: a worker killed mid-run leaves it pending with nothing half-written, and
    a second delivery of the task waits for the first and then does nothing.
    On failure the row records the attempt and the error (``failed`` when ``final``) and the
    exception propagates for the task to retry; :class:`PermanentError` is failed at once.
    """
    context = None
    try:
        with transaction.atomic():
            event = (
                WebhookEvent.objects.select_for_update(of=("self",))
                .select_related("org")
                .get(pk=event_pk)
            )
            context = log_context.bind(org=event.org.slug, provider=event.provider)
            if event.status == WebhookEvent.Status.PROCESSED:
                logger.info("webhook event %s already processed", event_pk)
                return None
            ignored = ""
            try:
                envelope = clean.load_json(bytes(event.body))
                record = _parse(org=event.org, provider=event.provider, envelope=envelope)
            except UnsupportedEvent:
                outcome, ignored = Outcome.SKIPPED, "unsupported event type"
            except ParseError as exc:
                # The endpoint accepted this body, so it was stored before this check existed
                # or the org's settings changed since: no retry makes it readable. Recorded as
                # ignored, with a reason naming the field; the body stays in the inbox.
                outcome, ignored = Outcome.SKIPPED, exc.message
            else:
                try:
                    outcome = ingest_record(
                        org=event.org,
                        record=record,
                        via="webhook",
                        raw=_raw_object(provider_named(event.provider), envelope),
                    )
                except _DETERMINISTIC as exc:
                    raise PermanentError(_error_text(exc)) from None
                if outcome is Outcome.SKIPPED:
                    ignored = "nothing to record (no person, payment or refund in it)"
            event.status = WebhookEvent.Status.PROCESSED
            event.attempts = F("attempts") + 1
            event.error = (IGNORED + ignored)[:ERROR_MAX_CHARS] if ignored else ""
            event.processed_at = timezone.now()
            event.save(update_fields=["status", "attempts", "error", "processed_at"])
            logger.info("webhook event %s processed: %s", event_pk, outcome)
            return outcome
    except WebhookEvent.DoesNotExist:
        raise PermanentError(f"webhook event {event_pk} does not exist") from None
    except Exception as exc:
        failed = final or isinstance(exc, PermanentError)
        error = _error_text(exc)
        WebhookEvent.objects.filter(pk=event_pk).exclude(
            status=WebhookEvent.Status.PROCESSED
        ).update(
            attempts=F("attempts") + 1,
            error=error,
            status=WebhookEvent.Status.FAILED if failed else WebhookEvent.Status.PENDING,
        )
        if isinstance(exc, (PermanentError, *_OWN_MESSAGES)):
            raise
        # Anything else is re-raised without the original, not even as its __cause__: the
        # task logs and stores the exception it retries with.
        raise RetryableError(error) from None
    finally:
        if context is not None:
            log_context.reset(context)


def webhook_event_replay(*, event: WebhookEvent, actor: User | None) -> bool:
    """Puts a failed (or stuck pending) event back in the queue; False for a processed one."""
    with transaction.atomic():
        updated = (
            WebhookEvent.objects.filter(pk=event.pk)
            .exclude(status=WebhookEvent.Status.PROCESSED)
            .update(status=WebhookEvent.Status.PENDING, attempts=0)
        )
        if not updated:
            return False
        audit_log_write(
            org=event.org,
            actor=actor,
            action="webhook.replay",
            target=event,
            provider=event.provider,
            event_type=event.event_type,
        )
        pk = event.pk
        transaction.on_commit(lambda: _enqueue(pk), robust=True)
    return True


def webhook_events_requeue(*, now: datetime | None = None, limit: int = REQUEUE_BATCH) -> int:
    """Enqueues pending rows the queue seems to have lost (the inbox is also the outbox).

    A row can also be pending because a long backlog has not reached it yet; enqueueing it
    again is harmless (processing is a no-op the second time) but costs a message, so each
    sweep takes at most ``limit`` rows, oldest first.
    """
    now = now or timezone.now()
    stale = WebhookEvent.objects.filter(
        status=WebhookEvent.Status.PENDING, received_at__lt=now - REQUEUE_GRACE
    ).filter(Q(attempts=0) | Q(received_at__lt=now - REQUEUE_RETRYING_AFTER))
    pks = list(stale.order_by("received_at").values_list("pk", flat=True)[:limit])
    for pk in pks:
        _enqueue(pk)
    return len(pks)


# --- reads for the integrations page ----------------------------------------------------------

OVERVIEW_DAYS = 7


def integrations_overview(*, org: Organization, base_url: str, days: int = OVERVIEW_DAYS) -> dict:
    """Per provider: the webhook URL, the last event, and per-day received/processed/failed."""

    today = timezone.now().date()
    day_list = [today - timedelta(days=i) for i in range(days)]
    since = timezone.now() - timedelta(days=days)
    events = WebhookEvent.objects.for_org(org)
    received = {
        (row["provider"], row["day"]): row
        for row in events.filter(received_at__gte=since)
        .annotate(day=TruncDate("received_at"))
        .values("provider", "day")
        .annotate(
            received=Count("pk"),
            failed=Count("pk", filter=Q(status=WebhookEvent.Status.FAILED)),
        )
    }
    processed = {
        (row["provider"], row["day"]): row["n"]
        for row in events.filter(processed_at__gte=since)
        .annotate(day=TruncDate("processed_at"))
        .values("provider", "day")
        .annotate(n=Count("pk"))
    }
    last = {}
    for provider in PROVIDERS:
        last[provider] = (
            events.filter(provider=provider)
            .order_by("-received_at")
            .only("received_at", "event_type", "status", "provider")
            .first()
        )
    credentials = {
        (c.provider, c.name): c
        for c in Credential.objects.for_org(org).only(
            "provider", "name", "hint", "updated_at", "rejected_at", "rejection"
        )
    }
    providers = []
    for provider, spec in REGISTRY.items():
        providers.append(
            {
                "provider": provider,
                "url": base_url
                + reverse("webhooks:receive", kwargs={"provider": provider, "org_slug": org.slug}),
                "last_event": last[provider],
                "days": [
                    {
                        "day": day,
                        "received": received.get((provider, day), {}).get("received", 0),
                        "processed": processed.get((provider, day), 0),
                        "failed": received.get((provider, day), {}).get("failed", 0),
                        "rejected": rejected_count(org=org, provider=provider, day=day),
                    }
                    for day in day_list
                ],
                "credentials": [
                    {"name": name, "credential": credentials.get((provider, name))}
                    for name in spec.credential_names
                ],
            }
        )
    return {"providers": providers}
