from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("rewards/", views.rewards, name="rewards"),
    path("fulfilments/", views.fulfilments, name="fulfilments"),
    path("payouts/", views.payouts, name="payouts"),
    path("coupon-pools/", views.coupon_pools, name="coupon_pools"),
]
