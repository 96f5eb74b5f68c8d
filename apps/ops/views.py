from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from apps.ops.health import readiness


@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    # No login: load balancers and orchestrators call it. The document holds no data, only
    # which dependency answered and how fast.
    report = readiness()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
