from django.urls import path

from apps.meetings import statement_views, views

app_name = "rep"
urlpatterns = [
    path("", views.rep_portal, name="portal"),
    # Magic links for reps without a login: the signed token is the only credential.
    path("link/<str:token>/", views.magic_home, name="magic_home"),
    path("link/<str:token>/calls/<int:pk>/pcf/", views.magic_pcf, name="magic_pcf"),
    path("statement/", statement_views.statement, name="statement"),
    path("statement/<str:token>/", statement_views.statement_link, name="statement_link"),
]
