from __future__ import annotations

from django.urls import path

from . import editor, journeys, log, staff, workspace

# A template's journey and language, under its program's Messages page.
TEMPLATE = "programs/<str:program_id>/messages/<str:journey>/<str:language>/"

urlpatterns = [
    path("messaging/", workspace.settings_page, name="messaging"),
    path("messaging/save/", workspace.save_settings, name="messaging_save"),
    path("messaging/suppress/", workspace.suppress, name="messaging_suppress"),
    path("messaging/unsuppress/", workspace.unsuppress, name="messaging_unsuppress"),
    path("messages/", log.message_log, name="messages"),
    path("notifications/", staff.notifications, name="staff_notifications"),
    path("notifications/add/", staff.add, name="staff_notification_add"),
    path("notifications/<str:subscription_id>/", staff.save, name="staff_notification_save"),
    path(
        "notifications/<str:subscription_id>/test/",
        staff.send_test,
        name="staff_notification_test",
    ),
    path(
        "notifications/<str:subscription_id>/remove/",
        staff.remove,
        name="staff_notification_remove",
    ),
    path("messages/<str:outgoing_id>/", log.message, name="message"),
    path("programs/<str:program_id>/messages/", journeys.program_messages, name="program_messages"),
    path(
        "programs/<str:program_id>/messages/<str:journey>/",
        journeys.set_journey,
        name="program_journey",
    ),
    path(
        "programs/<str:program_id>/messages/<str:journey>/segment/",
        journeys.segment_wording,
        name="message_segment",
    ),
    path(TEMPLATE, editor.editor, name="message_template"),
    path(TEMPLATE + "save/", editor.save, name="message_template_save"),
    path(TEMPLATE + "preview/", editor.preview, name="message_template_preview"),
    path(TEMPLATE + "reset/", editor.reset, name="message_template_reset"),
    path(TEMPLATE + "test/", editor.send_test, name="message_template_test"),
]
