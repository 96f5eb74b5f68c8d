from django.urls import path

from apps.integrations import sync_views

app_name = "integrations_sync"
urlpatterns = [
    path("", sync_views.status, name="status"),
    path("start/", sync_views.start, name="start"),
]
