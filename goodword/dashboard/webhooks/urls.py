from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("webhooks/", views.endpoints, name="webhooks"),
    path("webhooks/new/", views.create, name="webhook_create"),
    path("webhooks/<str:endpoint_id>/", views.endpoint, name="webhook"),
    path("webhooks/<str:endpoint_id>/edit/", views.edit, name="webhook_edit"),
    path("webhooks/<str:endpoint_id>/enable/", views.enable, name="webhook_enable"),
    path("webhooks/<str:endpoint_id>/disable/", views.disable, name="webhook_disable"),
    path("webhooks/<str:endpoint_id>/rotate/", views.rotate, name="webhook_rotate"),
    path("webhooks/<str:endpoint_id>/test/", views.send_test, name="webhook_test"),
    path("webhooks/<str:endpoint_id>/replay/", views.replay_range, name="webhook_replay_range"),
    path("webhooks/<str:endpoint_id>/delete/", views.delete, name="webhook_delete"),
    path(
        "webhooks/<str:endpoint_id>/messages/<str:message_id>/",
        views.message,
        name="webhook_message",
    ),
    path(
        "webhooks/<str:endpoint_id>/messages/<str:message_id>/replay/",
        views.replay,
        name="webhook_message_replay",
    ),
]
