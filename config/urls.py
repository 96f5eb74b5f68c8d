from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import include, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from apps.integrations.urls import webhook_urlpatterns
from apps.ops.views import readyz
from config.metrics import metrics_view


def _admin_login(request):
    # Django admin's own login has no rate limit; every sign-in goes through allauth's, which has.
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = reverse("admin:index")
    if request.user.is_authenticated:
        if admin.site.has_permission(request):
            return redirect(target)
        # Signed in, but admin is for staff: sending them back to the admin would loop. The
        # site's own 403 page says so, with its navigation.
        raise PermissionDenied(
            "The admin is for the owners and admins of an organisation: your account "
            "has no access to the admin."
        )
    return redirect_to_login(target)


def favicon(request):
    # Browsers ask for /favicon.ico whatever the page links; a 404 there is noise in every log.
    return redirect(staticfiles_storage.url("favicon.svg"), permanent=True)


def healthz(request):
    return JsonResponse({"status": "ok"})


admin.site.site_header = "Attribution admin"
admin.site.site_title = "Attribution admin"
admin.site.login = _admin_login

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("favicon.ico", favicon, name="favicon"),
    path("metrics", metrics_view, name="metrics"),
    path("", include("apps.kpis.urls")),
    path("calls/", include("apps.meetings.urls")),
    path("rep/", include("apps.meetings.rep_urls")),
    path("contacts/", include("apps.contacts.urls")),
    path("payments/", include("apps.payments.urls")),
    path("deals/", include("apps.deals.urls")),
    path("settings/api/", include("apps.api.site_urls")),
    path("conversions/", include("apps.api.conversion_urls")),
    path("forecast/", include("apps.forecast.urls")),
    path("attribution/", include("apps.marketing.urls")),
    path("settings/", include("apps.orgs.urls")),
    path("integrations/sync/", include("apps.integrations.sync_urls")),
    path("integrations/", include("apps.integrations.urls")),
    path("webhooks/", include(webhook_urlpatterns)),
    path("api/", include("apps.api.urls")),
]
