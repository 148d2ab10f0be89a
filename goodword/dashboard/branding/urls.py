from __future__ import annotations

from django.urls import path

from . import program, workspace

TEXT = "programs/<str:program_id>/pages/<str:key>/<str:language>/"

urlpatterns = [
    path("branding/", workspace.page, name="branding"),
    path("branding/save/", workspace.save, name="branding_save"),
    path("branding/logo/remove/", workspace.remove_logo, name="branding_logo_remove"),
    path("programs/<str:program_id>/pages/", program.pages, name="program_pages"),
    path("programs/<str:program_id>/pages/brand/", program.save_brand, name="program_brand"),
    path(TEXT, program.editor, name="page_text"),
    path(TEXT + "save/", program.save_text, name="page_text_save"),
    path(TEXT + "preview/", program.preview, name="page_text_preview"),
    path(TEXT + "reset/", program.reset, name="page_text_reset"),
]
