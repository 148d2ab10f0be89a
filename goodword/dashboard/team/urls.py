from __future__ import annotations

from django.urls import path

from . import accept, keys, log, views, workspace

urlpatterns = [
    path("team/", views.team, name="team"),
    path("team/invite/", views.invite, name="team_invite"),
    path("team/members/<int:member_id>/role/", views.change_role, name="member_role"),
    path("team/members/<int:member_id>/remove/", views.remove, name="member_remove"),
    path(
        "team/invitations/<str:invitation_id>/revoke/",
        views.revoke_invitation,
        name="invitation_revoke",
    ),
    # The emailed link: it works signed out (the token is the credential).
    path("invitations/<str:token>/", accept.invitation, name="invitation"),
    path("api-keys/", keys.api_keys, name="api_keys"),
    path("api-keys/new/", keys.create, name="api_key_create"),
    path("api-keys/<str:key_id>/revoke/", keys.revoke, name="api_key_revoke"),
    path("api-keys/widget-secret/rotate/", keys.rotate_secret, name="widget_secret_rotate"),
    path("settings/", workspace.settings, name="settings"),
    path("audit/", log.page, name="audit"),
    path("audit/export/", log.export, name="audit_export"),
]
