from django.urls import path

from apps.forecast import views

app_name = "forecast"
urlpatterns = [
    path("", views.forecast_page, name="page"),
    path("train/", views.forecast_train_now, name="train"),
]
