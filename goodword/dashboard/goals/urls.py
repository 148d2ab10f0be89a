from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("goals/", views.goals, name="goals"),
    path("goals/new/", views.create, name="goal_create"),
    path("goals/<str:goal_id>/edit/", views.edit, name="goal_edit"),
    path("goals/<str:goal_id>/delete/", views.delete, name="goal_delete"),
]
