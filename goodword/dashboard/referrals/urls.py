from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("referrals/", views.referrals, name="referrals"),
    path("referrals/export.csv", views.export, name="referrals_export"),
    path("referrals/<str:referral_id>/", views.referral, name="referral"),
]
