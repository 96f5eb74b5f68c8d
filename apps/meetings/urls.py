from django.urls import path

from apps.meetings import export_views, views

app_name = "meetings"
urlpatterns = [
    path("", views.call_list, name="list"),
    path("<int:pk>/", views.call_detail, name="detail"),
    path("<int:pk>/pcf/", views.pcf_form, name="pcf"),
    path("<int:pk>/pcf/lock/", views.pcf_lock, name="pcf_lock"),
    path("types/", views.call_type_rules, name="types"),
    path("types/<int:pk>/delete/", views.call_type_rule_delete, name="type_delete"),
    path("overdue/", views.overdue, name="overdue"),
    path("overdue/<int:pk>/remind/", views.overdue_remind, name="remind"),
    path("team/<int:pk>/magic-link/", views.magic_link_send, name="magic_link_send"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("exports/", export_views.export_list, name="exports"),
]
