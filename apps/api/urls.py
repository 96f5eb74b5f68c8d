from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.api import views
from apps.api.errors import not_found

app_name = "api"
v1 = [
    path("conversions", views.ConversionsView.as_view(), name="conversions"),
    path("conversions/analytics", views.AnalyticsView.as_view(), name="analytics"),
    path("conversions/<int:pk>", views.ConversionDetailView.as_view(), name="conversion"),
    path("contacts", views.ContactListView.as_view(), name="contacts"),
    path("contacts/<int:pk>", views.ContactDetailView.as_view(), name="contact"),
    path(
        "contacts/<int:pk>/conversion",
        views.ContactConversionView.as_view(),
        name="contact_conversion",
    ),
    path("calls", views.CallListView.as_view(), name="calls"),
    path("calls/<int:pk>", views.CallDetailView.as_view(), name="call"),
    path("pcfs", views.PcfListView.as_view(), name="pcfs"),
    path("pcfs/<int:pk>", views.PcfDetailView.as_view(), name="pcf"),
    path("deals", views.DealListView.as_view(), name="deals"),
    path("deals/<int:pk>", views.DealDetailView.as_view(), name="deal"),
    path("payments", views.PaymentListView.as_view(), name="payments"),
    path("payments/<int:pk>", views.PaymentDetailView.as_view(), name="payment"),
    path("kpis/summary", views.KpiSummaryView.as_view(), name="kpi_summary"),
    path(
        "workspaces/<slug:slug>/activity",
        views.WorkspaceActivityView.as_view(),
        name="workspace_activity",
    ),
]
urlpatterns = [
    *[path(f"v1/{p.pattern}", p.callback, name=p.name) for p in v1],
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script as a file of its own: the site's CSP
    # allows no inline script. Its assets come from drf-spectacular-sidecar (no CDN).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", template_name="api/swagger_ui.html"
        ),
        name="docs",
    ),
    re_path(r"^.*$", not_found, name="not_found"),
]
