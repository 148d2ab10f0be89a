"""The page an invitation's link opens. It works signed out: the token in the link is the
credential, so there is no `staff` check here.

Who may join: only the invited address. Signed in as it, a button joins; signed out with no
account yet, choosing a password makes one, joins and signs in; signed out with an account,
the visitor signs in first; signed in as someone else, nothing happens. A link used, revoked
or out of date is 410, an unknown one 404, and neither creates anything.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from goodword.accounts import services, team
from goodword.accounts.models import Invitation
from goodword.dashboard.access import SESSION_WORKSPACE, client_ip, needs_second_factor
from goodword.lib.errors import Conflict, DomainError, NotFound

GONE = {
    "accepted": "It has been used already: an invitation works once.",
    "revoked": "It was revoked, or replaced by a newer invitation.",
    "expired": f"It was valid for {team.INVITATION_DAYS} days and has expired.",
}


def _gone(request: HttpRequest, state: str) -> HttpResponse:
    status = 404 if state == "unknown" else 410
    context = {"title": "Invitation not valid", "why": GONE.get(state, "")}
    return render(request, "dashboard/team/invitation_gone.html", context, status=status)


def _mode(request: HttpRequest, invitation: Invitation) -> str:
    """`join` (signed in as the invited address), `wrong_user`, `sign_in` (an account with
    the address exists) or `sign_up`."""
    if request.user.is_authenticated:
        mine = request.user.get_username().lower() == invitation.email.lower()
        return "join" if mine else "wrong_user"
    if team.user_with_email(invitation.email) is not None:
        return "sign_in"
    return "sign_up"


def _login_url(request: HttpRequest) -> str:
    return reverse("dashboard:login") + "?" + urlencode({"next": request.path})


def _password_form(invitation: Invitation, data: Any = None) -> SetPasswordForm[Any]:
    # An unsaved user: the validators compare the password with the address; nothing is saved.
    newcomer = get_user_model()(username=invitation.email, email=invitation.email)
    return SetPasswordForm(newcomer, data)


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    found = team.find_invitation(token)
    if found is None:
        return _gone(request, "unknown")
    state = team.invitation_state(found, timezone.now())
    if state != "pending":
        return _gone(request, state)
    if request.user.is_authenticated and needs_second_factor(request):
        return redirect_to_login(
            request.get_full_path(), login_url=reverse("dashboard:two_factor_verify")
        )
    mode = _mode(request, found)
    form = _password_form(found, request.POST if request.method == "POST" else None)
    status = 403 if mode == "wrong_user" else 200
    if request.method == "POST":
        if mode in ("wrong_user", "sign_in"):
            status = 403
        elif mode == "join" or form.is_valid():
            return _accept(request, token, found, form if mode == "sign_up" else None)
        else:
            status = 400
    context = {
        "title": f"Join {found.workspace.name}",
        "invitation": found,
        "mode": mode,
        "form": form,
        "login": _login_url(request),
    }
    return render(request, "dashboard/team/accept.html", context, status=status)


def _accept(
    request: HttpRequest,
    token: str,
    found: Invitation,
    form: SetPasswordForm[Any] | None,
) -> HttpResponse:
    user = request.user if form is None else None
    password = None if form is None else str(form.cleaned_data["new_password1"])
    try:
        with transaction.atomic():
            member, user, joined = team.accept_invitation(token=token, user=user, password=password)
            services.record_audit(
                workspace_id=found.workspace_id,
                user=user,
                action="invitation.accept",
                subject=found.public_id,
                data={"role": found.role, "joined": joined},
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
    except NotFound:
        return _gone(request, "unknown")
    except team.Gone:  # used, revoked or expired a moment ago
        found.refresh_from_db()
        return _gone(request, team.invitation_state(found, timezone.now()))
    except Conflict:  # an account with the address appeared meanwhile
        return redirect(_login_url(request))
    except DomainError as error:
        context = {"title": "Not allowed", "role": "", "why": error.message}
        return render(request, "dashboard/team/invitation_gone.html", context, status=403)
    if form is not None:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_WORKSPACE] = found.workspace.public_id
    name = found.workspace.name
    if joined:
        messages.success(request, f"Welcome to {name}: you are {member.get_role_display()}.")
    else:
        messages.info(request, f"You are a member of {name} already; your role is unchanged.")
    return redirect("dashboard:overview")
