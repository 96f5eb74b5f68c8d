from django.urls import path

from apps.api import site_views

app_name = "api_site"
urlpatterns = [
    path("", site_views.keys_page, name="keys"),
    path("workspaces/new/", site_views.workspace_new, name="workspace_new"),
    path("keys/new/", site_views.key_new, name="key_new"),
    path("keys/<int:pk>/revoke/", site_views.key_revoke, name="key_revoke"),
]
