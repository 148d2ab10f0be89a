from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("attribution/", views.attribution_page, name="attribution"),
    path("attribution/advocates.csv", views.attribution_csv, name="attribution_csv"),
]
