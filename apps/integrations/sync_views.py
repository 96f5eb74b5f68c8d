""" "Sync now" and the running sync's progress, an HTMX partial the integrations page includes."""

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from apps.integrations.providers import PROVIDERS
from apps.integrations.sync import sync_request, sync_status
from apps.orgs.access import member_required
from apps.orgs.models import ADMIN_ROLES


def _provider(value: str | None) -> str:
    if value not in PROVIDERS:
        raise Http404
    return value


# Sign-in first: an anonymous POST is sent to sign in like any other page's.
@member_required(roles=ADMIN_ROLES)
@require_GET
def status(request):
    provider = request.GET.get("provider")
    if provider is None and not request.htmx:
        # Without JavaScript: a page with every provider's status and button.
        statuses = [sync_status(org=request.org, provider=p) for p in PROVIDERS]
        return render(request, "integrations/sync_page.html", {"statuses": statuses})
    context = {**sync_status(org=request.org, provider=_provider(provider)), "loaded": True}
    response = render(request, "integrations/_sync.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@member_required(roles=ADMIN_ROLES)
def start(request):
    provider = _provider(request.POST.get("provider"))
    queued = sync_request(org=request.org, provider=provider, actor=request.user)
    if not request.htmx:
        return redirect(reverse("integrations_sync:status"))
    context = {
        **sync_status(org=request.org, provider=provider),
        "loaded": True,
        "queued": queued,
        "refused": not queued,
    }
    return render(request, "integrations/_sync.html", context)
