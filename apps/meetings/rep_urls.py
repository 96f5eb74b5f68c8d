from django.urls import path

from apps.meetings import views

app_name = "rep"
urlpatterns = [
    path("", views.rep_portal, name="portal"),
    # Magic links for reps without a login: the signed token is the only credential.
    path("link/<str:token>/", views.magic_home, name="magic_home"),
    path("link/<str:token>/calls/<int:pk>/pcf/", views.magic_pcf, name="magic_pcf"),
]
