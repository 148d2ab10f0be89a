"""Signing in and out, password reset, and choosing the workspace to work in."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from goodword.accounts.roles import Can
from goodword.dashboard.access import SESSION_WORKSPACE, memberships, staff


class SignInForm(AuthenticationForm):
    """Sign in with an email address (staff users' usernames are their email addresses)."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def clean_username(self) -> str:
        return str(self.cleaned_data["username"]).strip().lower()


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "dashboard/account/login.html"
    redirect_authenticated_user = True


sign_in = SignInView.as_view()
sign_out = auth_views.LogoutView.as_view(next_page=reverse_lazy("dashboard:login"))

password_reset = auth_views.PasswordResetView.as_view(
    # The link names SITE_URL, never the request's Host header.
    extra_email_context={"site_url": settings.SITE_URL},
    template_name="dashboard/account/password_reset.html",
    email_template_name="dashboard/account/password_reset_email.txt",
    subject_template_name="dashboard/account/password_reset_subject.txt",
    success_url=reverse_lazy("dashboard:password_reset_done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="dashboard/account/password_reset_done.html"
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="dashboard/account/password_reset_confirm.html",
    success_url=reverse_lazy("dashboard:password_reset_complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="dashboard/account/password_reset_complete.html"
)


@require_POST
@staff(Can.VIEW)
def switch_workspace(request: HttpRequest) -> HttpResponse:
    """Work in another workspace this user belongs to (any other id: 404)."""
    chosen = request.POST.get("workspace", "")
    if chosen not in {m.workspace.public_id for m in memberships(request)}:
        return render(request, "dashboard/not_found.html", status=404)
    request.session[SESSION_WORKSPACE] = chosen
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = ""
    return redirect(target or "dashboard:overview")


def locked_out(
    request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """django-axes calls this when an email and address have failed too often: 429, and when
    to try again."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    response = render(
        request, "dashboard/account/locked_out.html", {"minutes": minutes}, status=429
    )
    response["Retry-After"] = str(minutes * 60)
    return response
