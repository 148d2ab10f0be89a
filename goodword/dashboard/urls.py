"""The dashboard's URLs: the account pages, then one module per domain (each owns its names)."""

from __future__ import annotations

from django.urls import include, path

from goodword.dashboard import account, two_factor

app_name = "dashboard"

urlpatterns = [
    path("login/", account.sign_in, name="login"),
    path("logout/", account.sign_out, name="logout"),
    path("password-reset/", account.password_reset, name="password_reset"),
    path("password-reset/sent/", account.password_reset_done, name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        account.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path("password-reset/done/", account.password_reset_complete, name="password_reset_complete"),
    path("login/code/", two_factor.verify, name="two_factor_verify"),
    path("account/two-factor/", two_factor.setup, name="two_factor"),
    path("workspace/", account.switch_workspace, name="switch_workspace"),
    path("", include("goodword.dashboard.overview.urls")),
    path("", include("goodword.dashboard.experiments.urls")),
    path("", include("goodword.dashboard.goals.urls")),
    path("", include("goodword.dashboard.attribution.urls")),
    path("", include("goodword.dashboard.programs.urls")),
    path("", include("goodword.dashboard.people.urls")),
    path("", include("goodword.dashboard.referrals.urls")),
    path("", include("goodword.dashboard.rewards.urls")),
    path("", include("goodword.dashboard.team.urls")),
    path("", include("goodword.dashboard.webhooks.urls")),
    path("", include("goodword.dashboard.connections.urls")),
    path("", include("goodword.dashboard.imports.urls")),
    path("", include("goodword.dashboard.messaging.urls")),
    path("", include("goodword.dashboard.branding.urls")),
]
