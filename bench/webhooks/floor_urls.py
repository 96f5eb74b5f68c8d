"""The floor of webhook intake: the least a Django view can do and still be correct.

It checks a Stripe-style HMAC and inserts the inbox row, nothing else: no receiver cache, no
parsing, no Celery publish, no log line. ``side_by_side.py`` measures what the real endpoint
spends beyond it.
"""

import hashlib
import hmac

from django.conf import settings
from django.db import IntegrityError
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from apps.integrations.models import WebhookEvent
from config.urls import urlpatterns as app_urlpatterns

_KEY = settings.FLOOR_SECRET.encode()


@csrf_exempt
def floor(request):
    body = request.body
    header = request.headers.get("Stripe-Signature", "")
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    expected = hmac.new(_KEY, parts.get("t", "").encode() + b"." + body, hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), parts.get("v1", "")):
        return JsonResponse({"error": "signature mismatch"}, status=401)
    try:
        WebhookEvent.objects.create(
            org_id=settings.FLOOR_ORG_ID,
            provider="stripe",
            event_id=hashlib.sha256(body).hexdigest(),
            event_type="floor",
            body=body,
            headers={},
        )
    except IntegrityError:
        return JsonResponse({"ok": True, "duplicate": True})
    return JsonResponse({"ok": True})


urlpatterns = [path("floor/", floor), *app_urlpatterns]
