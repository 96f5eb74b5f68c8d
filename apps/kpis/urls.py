from django.urls import path

from apps.kpis import views

app_name = "kpis"
urlpatterns = [
    path("", views.dashboard, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("kpis/summary.json", views.summary, name="summary"),
]
