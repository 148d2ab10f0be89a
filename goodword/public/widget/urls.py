from __future__ import annotations

from django.urls import path, re_path

from goodword.public.widget import script, views

urlpatterns = [
    path("widget.js", script.widget_js, name="widget-js"),
    path("widget/<str:version>.js", script.pinned_widget_js, name="widget-js-pinned"),
    path("w/v1/session", views.session, name="widget-session"),
    path("w/v1/enrol", views.enrol, name="widget-enrol"),
    path("w/v1/shares", views.share, name="widget-shares"),
    re_path(r"^w/", views.not_found),
]
