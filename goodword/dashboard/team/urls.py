from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("team/", views.team, name="team"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("settings/", views.settings, name="settings"),
    path("audit/", views.audit, name="audit"),
]
