"""The webhook endpoint (HTTP in, apps/integrations/webhooks.py does the work) and the
integrations page."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from apps.integrations import services, webhooks
from apps.integrations.forms import CredentialForm
from apps.integrations.providers import PROVIDERS
from apps.orgs.access import member_required
from apps.orgs.models import ADMIN_ROLES
from config import log_context

logger = logging.getLogger(__name__)


def _json(status: int, body: dict) -> JsonResponse:
    return JsonResponse(body, status=status)


def _read_body(request, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of the body (one more than allowed tells "too big").

    Read from the stream, not through request.body, whose own limit
    (DATA_UPLOAD_MAX_MEMORY_SIZE) is a different setting. A chunked body declares no length,
    so Django's request stream reads it as empty; a server that de-chunks it (gunicorn) says
    so with wsgi.input_terminated, and the raw input is then read through to its end.
    """
    if request.META.get("CONTENT_LENGTH") or not request.META.get("wsgi.input_terminated"):
        return request.read(limit + 1)
    stream = request.META["wsgi.input"]
    parts, size = [], 0
    while size <= limit:
        part = stream.read(limit + 1 - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


# Providers sign the raw body; CSRF does not apply to a machine-to-machine POST whose
# authenticity is the signature.
@csrf_exempt
@require_http_methods(["POST"])
def webhook(request, provider: str, org_slug: str):
    if provider not in PROVIDERS:
        return _json(404, {"error": "unknown provider"})
    org, secrets = webhooks.webhook_receiver(org_slug=org_slug, provider=provider)
    if org is None:
        return _json(404, {"error": "unknown organization"})
    # The request's context ends with the request (RequestContextMiddleware resets it).
    log_context.bind(org=org.slug, provider=provider)
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    too_big = {"error": f"body larger than {limit} bytes"}
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _json(413, too_big)
    body = _read_body(request, limit)
    if len(body) > limit:
        return _json(413, too_big)
    answer = webhooks.webhook_receive(
        org=org, provider=provider, headers=request.headers, body=body, secrets=secrets
    )
    # Ids only: the body is a person's details.
    logger.info(
        "webhook answered %s: event=%s",
        answer.status,
        answer.event.pk if answer.event else None,
    )
    return _json(answer.status, answer.body)


# --- the integrations page ------------------------------------------------------------------


def _sync_partial_exists() -> bool:
    # The sync's "Sync now" partial is built separately; the page works without it.
    try:
        get_template("integrations/_sync.html")
    except TemplateDoesNotExist:
        return False
    return True


@member_required(roles=ADMIN_ROLES)
@require_http_methods(["GET"])
def page(request):
    org = request.org
    context = webhooks.integrations_overview(
        org=org, base_url=request.build_absolute_uri("/").rstrip("/")
    )
    context["form"] = CredentialForm()
    context["sync_partial"] = _sync_partial_exists()
    return render(request, "integrations/page.html", context)


@require_POST
@member_required(roles=ADMIN_ROLES)
def credential_save(request):
    form = CredentialForm(request.POST)
    if form.is_valid():
        try:
            services.credential_set(
                org=request.org,
                provider=form.cleaned_data["provider"],
                name=form.cleaned_data["name"],
                value=form.cleaned_data["value"],
                actor=request.user,
            )
        except services.CredentialError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"Saved {form.cleaned_data['provider']} {form.cleaned_data['name']}.",
            )
        return redirect("integrations:page")
    context = webhooks.integrations_overview(
        org=request.org, base_url=request.build_absolute_uri("/").rstrip("/")
    )
    context["form"] = form
    context["sync_partial"] = _sync_partial_exists()
    return render(request, "integrations/page.html", context, status=400)
