from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("overview/leaderboard.csv", views.leaderboard_csv, name="overview_leaderboard_csv"),
    path("overview/daily.csv", views.daily_csv, name="overview_daily_csv"),
]
