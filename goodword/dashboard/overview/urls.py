from __future__ import annotations

from django.urls import path

from . import cohorts, views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("overview/leaderboard.csv", views.leaderboard_csv, name="overview_leaderboard_csv"),
    path("overview/daily.csv", views.daily_csv, name="overview_daily_csv"),
    path("cohorts/", cohorts.cohorts_page, name="cohorts"),
    path("cohorts/cohorts.csv", cohorts.cohorts_csv, name="cohorts_csv"),
]
