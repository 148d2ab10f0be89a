from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("participants/", views.participants, name="participants"),
    path("participants/export.csv", views.participants_export, name="participants_export"),
    # By public id (`par_…`): external ids are the business's and may hold any character.
    path("participants/<str:participant_id>/", views.participant, name="participant"),
    path(
        "participants/<str:participant_id>/portal-link/<str:advocate_id>",
        views.portal_link,
        name="portal_link",
    ),
    path("advocates/", views.advocates, name="advocates"),
    path("advocates/export.csv", views.advocates_export, name="advocates_export"),
]
