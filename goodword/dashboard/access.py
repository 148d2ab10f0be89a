"""Who may see and do what in the dashboard.

Every view is wrapped in `staff(Can.X)`: it needs a signed-in user with a membership in the
workspace they are working in (the session's choice, else their first), and a role that holds
the permission (`accounts.roles`). The view then finds `request.workspace` and
`request.membership` set, and fetches every row through `.for_workspace(request.workspace)`,
so another workspace's id is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django_otp import user_has_device

from goodword.accounts.models import Membership
from goodword.accounts.roles import Can, allows

SESSION_WORKSPACE = "workspace"

View = Callable[..., HttpResponse]


def memberships(request: HttpRequest) -> list[Membership]:
    return list(
        Membership.objects.filter(user_id=int(request.user.pk or 0))
        .select_related("workspace")
        .order_by("created_at", "pk")
    )


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership of the workspace this user is working in."""
    mine = memberships(request)
    chosen = request.session.get(SESSION_WORKSPACE)
    for membership in mine:
        if membership.workspace.public_id == chosen:
            return membership
    return mine[0] if mine else None


def staff(permission: Can) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if needs_second_factor(request):
                return redirect_to_login(
                    request.get_full_path(), login_url=reverse("dashboard:two_factor_verify")
                )
            membership = current_membership(request)
            if membership is None:
                return render(request, "dashboard/no_workspace.html", status=403)
            request.membership = membership  # type: ignore[attr-defined]
            request.workspace = membership.workspace  # type: ignore[attr-defined]
            if not allows(membership.role, permission):
                context = {"permission": permission, "role": membership.get_role_display()}
                return render(request, "dashboard/forbidden.html", context, status=403)
            return view(request, *args, **kwargs)

        wrapper.permission = permission  # type: ignore[attr-defined]  # read by the URL walk test
        return wrapper

    return decorate


def needs_second_factor(request: HttpRequest) -> bool:
    """Signed in with a password, but two-factor is on and no code was given yet."""
    verified = getattr(request.user, "is_verified", lambda: False)()
    return not verified and user_has_device(request.user, confirmed=True)


def can(request: HttpRequest, permission: Can) -> bool:
    """For templates and views: may this staff member do that here?"""
    membership: Membership | None = getattr(request, "membership", None)
    return membership is not None and allows(membership.role, permission)


def client_ip(request: HttpRequest) -> str | None:
    # The proxy-aware address comes with the production issue's TRUSTED_PROXIES; until then
    # the peer's address is the only one believed.
    return request.META.get("REMOTE_ADDR") or None
