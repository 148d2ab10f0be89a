"""The branding forms: a colour and a logo file (the workspace's, or a program's own), and a
page text. They check what a field can get wrong; the services check the rest (the logo's
content, the template), and their complaint is put next to its field."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from goodword.lib.errors import DomainError

ACCEPT = "image/png,image/jpeg,image/webp,image/gif"
_COLOR = r"^#[0-9a-fA-F]{6}$"
_COLOR_ERROR = {"invalid": _("Enter a colour such as #1f6f5c.")}


def logo_bytes(upload: UploadedFile[bytes] | None) -> bytes | None:
    """The uploaded file's bytes, or None; never reads more than the limit and one byte (the
    service refuses a file over the limit with its own words)."""
    if upload is None:
        return None
    upload.seek(0)
    return bytes(upload.read(int(settings.LOGO_MAX_BYTES) + 1))


class LogoField(forms.FileField):
    widget = forms.ClearableFileInput(attrs={"accept": ACCEPT})


class WorkspaceBrandForm(forms.Form):
    brand_color = forms.RegexField(
        regex=_COLOR, max_length=7, label=_("Brand colour"), error_messages=_COLOR_ERROR
    )
    logo = LogoField(required=False, label=_("Upload a logo"))

    def clean_brand_color(self) -> str:
        return str(self.cleaned_data.get("brand_color") or "").lower()

    def place(self, error: DomainError) -> None:
        field = "logo" if (error.code or "").startswith("logo") else "brand_color"
        self.add_error(field, _sentence(error.message))


class ProgramBrandForm(forms.Form):
    own_color = forms.BooleanField(required=False, label=_("Its own colour"))
    color = forms.RegexField(
        regex=_COLOR, max_length=7, required=False, label=_("Colour"), error_messages=_COLOR_ERROR
    )
    logo = LogoField(required=False, label=_("Upload its own logo"))
    workspace_logo = forms.BooleanField(required=False, label=_("Use the workspace's logo"))

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("own_color") and not data.get("color"):
            self.add_error("color", _("Enter a colour such as #1f6f5c."))
        return data

    def place(self, error: DomainError) -> None:
        field = "logo" if (error.code or "").startswith("logo") else "color"
        self.add_error(field, _sentence(error.message))


class PageTextForm(forms.Form):
    source = forms.CharField(
        max_length=50_000, strip=False, label=_("Text"), widget=forms.Textarea(attrs={"rows": 6})
    )


def _sentence(message: str) -> str:
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."
