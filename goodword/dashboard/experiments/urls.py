from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("experiments/", views.experiments, name="experiments"),
    path("experiments/<str:program_id>/", views.experiment, name="experiment"),
    path("experiments/<str:program_id>/export.csv", views.experiment_csv, name="experiment_csv"),
]
