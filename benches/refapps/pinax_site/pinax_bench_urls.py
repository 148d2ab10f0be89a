from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("r/", include("pinax.referrals.urls"))]
