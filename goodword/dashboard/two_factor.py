"""Optional two-factor sign-in with an authenticator app (TOTP, through django-otp).

A user turns it on from their account page: scan the QR code (or type the key), then confirm
with a code, which proves the app holds the key. From then on, signing in takes the password and
then a code: until the code is given, every dashboard page sends them to the code page
(`access.needs_second_factor`). django-otp throttles wrong codes (each failure doubles the wait).
"""

from __future__ import annotations

import base64

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from goodword.accounts.roles import Can
from goodword.dashboard.access import staff
from goodword.dashboard.audit import audit


class CodeForm(forms.Form):
    code = forms.RegexField(
        label="Code from your authenticator app",
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": "Enter the 6 digits your app shows."},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


def _check(device: TOTPDevice, form: CodeForm) -> bool:
    """The form's code against the device; the form carries the error when it is wrong."""
    if not form.is_valid():
        return False
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        form.add_error("code", "Too many wrong codes: wait a little, then try again.")
        return False
    if not device.verify_token(form.cleaned_data["code"].strip()):
        form.add_error("code", "That code is not right (or has expired). Try the next one.")
        return False
    return True


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in."""
    device = TOTPDevice.objects.devices_for_user(request.user, confirmed=True).first()
    target = request.POST.get("next") or request.GET.get("next") or "/dashboard/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/dashboard/"
    if device is None or request.user.is_verified():  # type: ignore[union-attr]
        return redirect(target)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and _check(device, form):
        otp_login(request, device)
        return redirect(target)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "next": target}
    return render(request, "dashboard/account/two_factor_verify.html", context, status=status)


@staff(Can.VIEW)
def setup(request: HttpRequest) -> HttpResponse:
    """Turn two-factor on (scan, then confirm with a code) or off (with a code)."""
    user = request.user
    confirmed = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    form = CodeForm(request.POST or None)
    if confirmed is not None:
        if request.method == "POST" and _check(confirmed, form):
            with transaction.atomic():
                TOTPDevice.objects.devices_for_user(user, confirmed=None).delete()
                audit(request, "account.two_factor_off", subject=user.get_username())
            messages.success(request, "Two-factor sign-in is off.")
            return redirect("dashboard:two_factor")
        context = {"on": True, "form": form}
        status = 400 if request.method == "POST" else 200
        return render(request, "dashboard/account/two_factor.html", context, status=status)
    pending = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    if pending is None:
        pending = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    if request.method == "POST" and _check(pending, form):
        with transaction.atomic():
            pending.confirmed = True
            pending.save(update_fields=["confirmed"])
            audit(request, "account.two_factor_on", subject=user.get_username())
        otp_login(request, pending)
        messages.success(request, "Two-factor sign-in is on. You will need a code each time.")
        return redirect("dashboard:two_factor")
    context = {
        "on": False,
        "form": form,
        "qr": segno.make(pending.config_url, error="m").svg_inline(scale=4, title="QR code"),
        "key": base64.b32encode(pending.bin_key).decode(),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "dashboard/account/two_factor.html", context, status=status)
