from __future__ import annotations

from django.urls import path

from . import builder, views

urlpatterns = [
    path("programs/", views.programs, name="programs"),
    path("programs/new/", builder.new_program, name="program_new"),
    path("programs/summary/", builder.program_summary, name="program_summary"),
    path("programs/import/", views.import_program, name="program_import"),
    path("programs/<str:program_id>/", views.program, name="program"),
    path("programs/<str:program_id>/edit/", builder.edit_program, name="program_edit"),
    path("programs/<str:program_id>/status/", views.change_status, name="program_status"),
    path("programs/<str:program_id>/config.json", views.export_config, name="program_config"),
    path(
        "programs/<str:program_id>/versions/<int:number>.json",
        views.export_version,
        name="program_version",
    ),
]
