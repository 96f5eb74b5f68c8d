from django.urls import path

from apps.marketing import views

app_name = "marketing"
urlpatterns = [
    path("", views.attribution, name="attribution"),
    path("journeys/", views.journeys, name="journeys"),
    path("channels/", views.channels, name="channels"),
    path("channels/delete/", views.channel_delete, name="channel_delete"),
    path("campaign-days/import/", views.campaign_days_upload, name="campaign_days_import"),
]
