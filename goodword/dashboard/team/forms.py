"""The forms of the team, API key and settings pages. Each checks what the service it feeds
checks (`goodword.accounts.services`), so a complaint shows next to its field before anything
is written."""

from __future__ import annotations

from typing import Any

from django import forms

from goodword.accounts.models import Membership
from goodword.accounts.services import clean_domains
from goodword.lib.errors import DomainError

Role = Membership.Role

# What each role may do, in a word, for the role pickers (the rules are `accounts.roles`).
ROLE_HINTS = {
    Role.OWNER: "everything, including owners",
    Role.ADMIN: "everything but owners",
    Role.REVIEWER: "reads; approves rewards, runs payouts",
    Role.ANALYST: "reads everything, changes nothing",
}


def role_choices(*, with_owner: bool) -> list[tuple[str, str]]:
    return [
        (value, f"{label} — {ROLE_HINTS[Role(value)]}")
        for value, label in Role.choices
        if with_owner or value != Role.OWNER
    ]


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(initial=Role.ANALYST)

    def __init__(self, *args: Any, with_owner: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # An admin is not offered "owner"; the service refuses it too.
        self.fields["role"].choices = role_choices(with_owner=with_owner)  # type: ignore[attr-defined]

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()


class RoleForm(forms.Form):
    # Every role: who may give which is the service's rule, answered with its message.
    role = forms.ChoiceField(choices=Role.choices)


class KeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        error_messages={"required": "Name the key after what will use it, e.g. “shop”."},
    )
    kind = forms.ChoiceField(
        choices=[
            ("secret", "Secret: your server calls the API"),
            ("publishable", "Publishable: the widget and refer-by-name in your pages"),
        ],
        initial="secret",
        required=False,
    )

    def clean_kind(self) -> str:
        return str(self.cleaned_data.get("kind") or "secret")


class SettingsForm(forms.Form):
    """The workspace's settings (the API's `PATCH /workspace`)."""

    name = forms.CharField(max_length=200, label="Workspace name")
    allowed_domains = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Allowed destination domains",
        help_text="One per line. Referral links may send people to these hosts and their "
        "subdomains.",
    )

    def clean_allowed_domains(self) -> list[str]:
        text = str(self.cleaned_data["allowed_domains"])
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            return clean_domains(lines)
        except DomainError as error:
            raise forms.ValidationError(error.message) from None
