"""The messaging forms: the workspace's settings, a journey's choices, a template's parts and a
suppressed address. They check what a person can get wrong in a field; the services check the
rest, and their complaint is put next to its field (`place`)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from django import forms
from django.utils.translation import gettext_lazy as _

from goodword.lib.errors import DomainError
from goodword.messaging.models import MessagingSettings

# Offered in the time zone box; any IANA zone is accepted.
COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Rome",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Amsterdam",
    "Europe/Zurich",
    "Europe/Athens",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)
HOURS = [(h, f"{h:02d}:00") for h in range(24)]
LANGUAGE_CHOICES = [("en", "English"), ("it", "Italiano")]


def _place(form: forms.Form, error: DomainError, fields: tuple[str, ...]) -> None:
    """Put a service's refusal next to the field its code names, else above the form."""
    code = error.code or ""
    field = next((f for f in fields if f in code), None)
    message = error.message[:1].upper() + error.message[1:]
    form.add_error(field, message if message.endswith(".") else message + ".")


class SettingsForm(forms.Form):
    is_active = forms.BooleanField(required=False, label=_("Send messages"))
    from_name = forms.CharField(max_length=100, required=False, label=_("Sender name"), strip=True)
    reply_to = forms.EmailField(max_length=254, required=False, label=_("Reply-to address"))
    language = forms.ChoiceField(choices=LANGUAGE_CHOICES, label=_("Default language"))
    time_zone = forms.CharField(max_length=64, label=_("Time zone"))
    brand_color = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$",
        max_length=7,
        label=_("Brand colour"),
        error_messages={"invalid": _("Enter a colour such as #1f6f5c.")},
    )
    logo_url = forms.URLField(
        max_length=2000, required=False, label=_("Logo URL"), assume_scheme="https"
    )
    weekly_cap = forms.IntegerField(min_value=0, max_value=50, label=_("Weekly limit"))
    quiet_start = forms.TypedChoiceField(choices=HOURS, coerce=int, label=_("Quiet from"))
    quiet_end = forms.TypedChoiceField(choices=HOURS, coerce=int, label=_("Quiet until"))
    require_consent = forms.BooleanField(required=False, label=_("Require marketing consent"))
    postal_address = forms.CharField(
        max_length=300, required=False, label=_("Postal address"), widget=forms.Textarea
    )
    sms_enabled = forms.BooleanField(required=False, label=_("Send text messages too"))
    phone_region = forms.CharField(
        max_length=2, required=False, label=_("Country of local phone numbers")
    )

    FIELDS = (
        "is_active",
        "from_name",
        "reply_to",
        "language",
        "time_zone",
        "brand_color",
        "logo_url",
        "weekly_cap",
        "quiet_start",
        "quiet_end",
        "require_consent",
        "postal_address",
        "sms_enabled",
        "phone_region",
    )

    @classmethod
    def of(cls, found: MessagingSettings) -> SettingsForm:
        return cls(initial={name: getattr(found, name) for name in cls.FIELDS})

    def clean_time_zone(self) -> str:
        zone = str(self.cleaned_data.get("time_zone") or "").strip()
        try:
            ZoneInfo(zone)
        except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            raise forms.ValidationError(
                _("Enter a time zone such as Europe/Rome or America/New_York.")
            ) from None
        return zone

    def clean_logo_url(self) -> str:
        url = str(self.cleaned_data.get("logo_url") or "")
        if url and not url.startswith("https://"):
            raise forms.ValidationError(_("Use an https:// address, as mail apps load only those."))
        return url

    def clean_postal_address(self) -> str:
        # As the service keeps it: one address line per line, no blank ones, no \r.
        text = str(self.cleaned_data.get("postal_address") or "")
        return "\n".join(line.strip() for line in text.splitlines() if line.strip())

    def clean_phone_region(self) -> str:
        region = str(self.cleaned_data.get("phone_region") or "").strip().upper()
        if region and region not in phonenumbers.SUPPORTED_REGIONS:
            raise forms.ValidationError(_("Enter a country code such as IT, US or GB."))
        return region

    def clean_brand_color(self) -> str:
        return str(self.cleaned_data.get("brand_color") or "").lower()

    @property
    def values(self) -> dict[str, Any]:
        """What `update_settings` takes, once valid."""
        return {name: self.cleaned_data[name] for name in self.FIELDS}

    def place(self, error: DomainError) -> None:
        _place(self, error, self.FIELDS)


class JourneyForm(forms.Form):
    is_active = forms.BooleanField(required=False, label=_("On"))
    delay_days = forms.IntegerField(
        min_value=0, max_value=365, required=False, label=_("Days after the purchase")
    )
    min_nps = forms.IntegerField(
        min_value=0, max_value=10, required=False, label=_("Promoters only: NPS answer at least")
    )
    sms = forms.BooleanField(required=False, label=_("Also send by text"))

    def place(self, error: DomainError) -> None:
        _place(self, error, ("delay_days", "min_nps"))


class TemplateForm(forms.Form):
    subject = forms.CharField(max_length=1000, required=False, label=_("Subject"), strip=False)
    html = forms.CharField(max_length=50_000, required=False, label=_("Body (HTML)"), strip=False)
    text = forms.CharField(
        max_length=50_000, required=False, label=_("Plain-text part"), strip=False
    )
    sms = forms.CharField(max_length=2000, required=False, label=_("SMS text"), strip=False)

    PARTS = ("subject", "html", "text", "sms")

    @property
    def parts(self) -> dict[str, str]:
        return {part: str(self.cleaned_data.get(part) or "") for part in self.PARTS}


class SuppressionForm(forms.Form):
    address = forms.EmailField(max_length=320, label=_("Email address"))

    def place(self, error: DomainError) -> None:
        _place(self, error, ("address",))
