from django.urls import path

from apps.integrations import views

app_name = "integrations"
urlpatterns = [
    path("", views.page, name="page"),
    path("credentials/", views.credential_save, name="credential_save"),
]

# Mounted at /webhooks/ (config/urls.py): machine endpoints, not tenant pages.
webhook_urlpatterns = (
    [path("<str:provider>/<slug:org_slug>/", views.webhook, name="receive")],
    "webhooks",
)
