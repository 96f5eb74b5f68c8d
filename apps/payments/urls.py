from django.urls import path

from apps.payments import views

app_name = "payments"
urlpatterns = [
    path("", views.payment_list, name="list"),
    path("payouts/", views.payout_list, name="payouts"),
    path("payouts/<int:pk>/", views.payout_detail, name="payout_detail"),
]
