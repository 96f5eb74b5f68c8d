from django.urls import path

from apps.api import site_views

app_name = "conversions"
urlpatterns = [path("", site_views.conversions_page, name="page")]
