"""The team page: members and their roles, invitations by email, removal.

Every change goes through `goodword.accounts.team`, which holds the rules (only owners
make or unmake owners, nobody changes their own role, the last owner stays); the page offers
only what the viewer may do, and shows the service's reason when it refuses.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings as conf
from django.contrib import messages
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from goodword.accounts import team as team_rules
from goodword.accounts.models import Invitation, Membership
from goodword.accounts.roles import Can
from goodword.dashboard.access import can, staff
from goodword.dashboard.audit import audit
from goodword.dashboard.team.forms import InviteForm, RoleForm, role_choices
from goodword.lib.errors import DomainError, NotFound

OWNER = Membership.Role.OWNER


@dataclass(frozen=True)
class MemberRow:
    member: Membership
    is_me: bool
    may_change: bool  # the viewer may change this member's role or remove them
    last_owner: bool


def _rows(request: HttpRequest) -> list[MemberRow]:
    members = list(
        Membership.objects.for_workspace(request.workspace)  # type: ignore[attr-defined]
        .select_related("user")
        .order_by("created_at", "pk")
    )
    me: Membership = request.membership  # type: ignore[attr-defined]
    owners = sum(1 for m in members if m.role == OWNER)
    may_team, may_own = can(request, Can.TEAM), can(request, Can.OWN)
    return [
        MemberRow(
            member=m,
            is_me=m.pk == me.pk,
            may_change=may_team and m.pk != me.pk and (may_own or m.role != OWNER),
            last_owner=m.role == OWNER and owners == 1,
        )
        for m in members
    ]


def _page(
    request: HttpRequest,
    *,
    invite_form: InviteForm | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    pending = (
        Invitation.objects.for_workspace(request.workspace)  # type: ignore[attr-defined]
        .filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .select_related("invited_by")
        .order_by("-created_at", "-pk")
    )
    may_own = can(request, Can.OWN)
    context = {
        "title": "Team",
        "rows": _rows(request),
        "invitations": list(pending),
        "invite_form": invite_form or InviteForm(with_owner=may_own),
        "roles": role_choices(with_owner=may_own),
        "all_roles": role_choices(with_owner=True),
        "problem": problem,
        "days": team_rules.INVITATION_DAYS,
    }
    return render(request, "dashboard/team/team.html", context, status=status)


def _refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    if isinstance(error, NotFound):
        raise Http404(error.message)
    return _page(request, problem=error.message, status=error.status)


@staff(Can.VIEW)
def team(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _member(request: HttpRequest, member_id: int) -> Membership:
    found = (
        Membership.objects.for_workspace(request.workspace)  # type: ignore[attr-defined]
        .filter(pk=member_id)
        .select_related("user")
        .first()
    )
    if found is None:
        raise Http404("no such member")
    return found


@require_POST
@staff(Can.TEAM)
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST, with_owner=can(request, Can.OWN))
    if not form.is_valid():
        return _page(request, invite_form=form, status=400)
    email, role = str(form.cleaned_data["email"]), str(form.cleaned_data["role"])
    try:
        with transaction.atomic():
            invitation, token = team_rules.invite_member(
                email=email,
                role=role,
                by=request.membership,  # type: ignore[attr-defined]
            )
            audit(request, "member.invite", invitation.public_id, email=email, role=role)
    except DomainError as error:
        form.add_error("email" if error.code == "already_member" else None, error.message)
        return _page(request, invite_form=form, status=error.status)
    if _send_invitation(request, invitation, token):
        messages.success(request, f"Invitation sent to {email}.")
    else:
        messages.error(
            request,
            f"The invitation to {email} is saved, but the email could not be sent. "
            "Revoke it and invite again once mail works.",
        )
    return redirect("dashboard:team")


def _send_invitation(request: HttpRequest, invitation: Invitation, token: str) -> bool:
    """Email the link. After the commit: a mail server that is down keeps the invitation,
    and no email goes out for an invitation that was rolled back."""
    context = {
        "invitation": invitation,
        "workspace": request.workspace,  # type: ignore[attr-defined]
        "inviter": request.user.get_username(),
        "role": invitation.get_role_display(),
        # SITE_URL, never the request's Host header, which a visitor chooses.
        "link": conf.SITE_URL + reverse("dashboard:invitation", args=[token]),
        "days": team_rules.INVITATION_DAYS,
    }
    subject = render_to_string("dashboard/team/invitation_subject.txt", context)
    body = render_to_string("dashboard/team/invitation_email.txt", context)
    try:
        send_mail(" ".join(subject.split()), body, None, [invitation.email])
    except OSError:  # smtplib's errors are OSErrors
        return False
    return True


@require_POST
@staff(Can.TEAM)
def change_role(request: HttpRequest, member_id: int) -> HttpResponse:
    member = _member(request, member_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _page(request, problem="Choose one of the roles.", status=400)
    role, was = str(form.cleaned_data["role"]), member.role
    try:
        with transaction.atomic():
            changed = team_rules.change_role(
                member=member,
                role=role,
                by=request.membership,  # type: ignore[attr-defined]
            )
            if changed:
                email = member.user.get_username()
                audit(request, "member.role_change", email[:64], user=email, role=role, was=was)
    except DomainError as error:
        return _refused(request, error)
    who = member.user.get_username()
    if changed:
        messages.success(request, f"{who} is now {member.Role(role).label.lower()}.")
    else:
        messages.info(request, f"{who} had that role already.")
    return redirect("dashboard:team")


@require_http_methods(["GET", "POST"])
@staff(Can.TEAM)
def remove(request: HttpRequest, member_id: int) -> HttpResponse:
    """GET asks to confirm; POST removes."""
    member = _member(request, member_id)
    email = member.user.get_username()
    if request.method != "POST":
        context = {
            "title": "Remove a member",
            "question": f"Remove {email} ({member.get_role_display().lower()}) from the team?",
            "detail": "From their next request they see nothing of this workspace.",
            "action": reverse("dashboard:member_remove", args=[member.pk]),
            "button": "Remove",
            "back": reverse("dashboard:team"),
        }
        return render(request, "dashboard/team/confirm.html", context)
    try:
        with transaction.atomic():
            team_rules.remove_member(member=member, by=request.membership)  # type: ignore[attr-defined]
            audit(request, "member.remove", email[:64], user=email, role=member.role)
    except DomainError as error:
        return _refused(request, error)
    messages.success(request, f"{email} is no longer a member.")
    return redirect("dashboard:team")


@require_POST
@staff(Can.TEAM)
def revoke_invitation(request: HttpRequest, invitation_id: str) -> HttpResponse:
    invitation = (
        Invitation.objects.for_workspace(request.workspace)  # type: ignore[attr-defined]
        .filter(public_id=invitation_id)
        .first()
    )
    if invitation is None:
        raise Http404("no such invitation")
    try:
        with transaction.atomic():
            revoked = team_rules.revoke_invitation(
                invitation=invitation,
                by=request.membership,  # type: ignore[attr-defined]
            )
            if revoked:
                audit(request, "invitation.revoke", invitation.public_id, email=invitation.email)
    except DomainError as error:
        return _refused(request, error)
    if revoked:
        messages.success(request, f"The invitation to {invitation.email} no longer works.")
    else:
        messages.info(request, f"The invitation to {invitation.email} was used or revoked already.")
    return redirect("dashboard:team")
