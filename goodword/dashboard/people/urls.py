from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("participants/", views.participants, name="participants"),
    path("advocates/", views.advocates, name="advocates"),
]
