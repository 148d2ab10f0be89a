from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("imports/", views.imports, name="imports"),
    path("imports/new/", views.upload, name="import_create"),
]
