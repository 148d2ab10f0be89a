"""Email normalisation, so that one person's spellings of an address compare equal."""

from __future__ import annotations

_GMAIL = {"gmail.com", "googlemail.com"}


def normalize_email(email: str) -> str:
    """Lower-case, drop a `+tag`, and for Gmail drop dots and map googlemail to gmail.

    Used to find self-referrals and invited friends; the address as given is kept for sending.
    """
    email = email.strip().lower()
    local, sep, domain = email.rpartition("@")
    if not sep:
        return email
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"
