from django.urls import path

from apps.orgs import views

app_name = "orgs"
urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("invite/", views.invite, name="invite"),
    path("audit/", views.audit_page, name="audit"),
    path("audit.csv", views.audit_csv, name="audit_csv"),
    path("members/<int:pk>/mfa-reset/", views.mfa_reset, name="mfa_reset"),
    path("switch/", views.switch_org, name="switch"),
    path("no-organisation/", views.no_org, name="no_org"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
