from django.urls import path

from apps.kpis import traffic_views, views

app_name = "kpis"
urlpatterns = [
    path("", views.dashboard, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("kpis/summary.json", views.summary, name="summary"),
    path("dashboard/traffic-types/", traffic_views.traffic_types, name="traffic_types"),
    path(
        "dashboard/traffic-types/<int:pk>/delete/",
        traffic_views.traffic_type_remove,
        name="traffic_type_delete",
    ),
]
