from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("connections/", views.connections, name="connections"),
    path("connections/new/", views.create, name="connection_create"),
    path("connections/<str:connection_id>/", views.connection, name="connection"),
    path("connections/<str:connection_id>/active/", views.toggle, name="connection_toggle"),
    path("connections/<str:connection_id>/delete/", views.delete, name="connection_delete"),
    path(
        "connections/<str:connection_id>/inbox/<str:item_id>/retry/",
        views.retry,
        name="connection_retry",
    ),
]
