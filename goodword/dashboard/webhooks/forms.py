"""The webhook forms: an endpoint's URL, events (every one, or those ticked, grouped by what they
are about as the catalogue's subjects group them) and description; a secret rotation's grace; a
time range to replay. The checks that matter are the service's (`webhooks.services`): its
complaint is put next to its field (`place`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django import forms

from goodword.events.catalogue import EVENTS, SUBJECTS
from goodword.lib.errors import DomainError
from goodword.webhooks.models import WebhookEndpoint

ALL, CHOSEN = "all", "chosen"
GRACES = [
    (0, "None: the old secret stops at once"),
    (1, "1 hour"),
    (24, "24 hours"),
    (72, "3 days"),
    (168, "7 days"),
]


@dataclass(frozen=True)
class Group:
    """The events about one kind of thing (a referral, a reward…), in catalogue order."""

    label: str
    names: tuple[str, ...]


def event_groups() -> list[Group]:
    """The catalogue's events grouped by their subject, groups in order of first appearance."""
    grouped: dict[str, list[str]] = {}
    for event in EVENTS:
        grouped.setdefault(event.subject, []).append(event.name)
    labels = {subject: SUBJECTS.get(subject, subject) for subject in grouped}
    return [
        Group(labels[subject][:1].upper() + labels[subject][1:], tuple(names))
        for subject, names in grouped.items()
    ]


class EndpointForm(forms.Form):
    url = forms.CharField(max_length=2000, label="URL")
    events = forms.ChoiceField(
        choices=[(ALL, "Every event, including those added later"), (CHOSEN, "Only these")],
        initial=ALL,
        widget=forms.RadioSelect,
    )
    event_types = forms.MultipleChoiceField(
        required=False, choices=[(e.name, e.name) for e in EVENTS]
    )
    description = forms.CharField(max_length=200, required=False)

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> EndpointForm:
        initial = {
            "url": endpoint.url,
            "events": CHOSEN if endpoint.event_types else ALL,
            "event_types": list(endpoint.event_types),
            "description": endpoint.description,
        }
        return cls(initial=initial)

    def clean_url(self) -> str:
        return str(self.cleaned_data.get("url", "")).strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("events") == ALL:
            data["event_types"] = []
        elif data.get("events") == CHOSEN and not data.get("event_types"):
            self.add_error("event_types", "Tick at least one event, or choose every event.")
        return data

    @property
    def values(self) -> dict[str, Any]:
        """What the services take, once valid."""
        return {
            "url": self.cleaned_data["url"],
            "event_types": list(self.cleaned_data["event_types"]),
            "description": str(self.cleaned_data.get("description") or "").strip(),
        }

    @property
    def ticked(self) -> set[str]:
        """The events ticked on the form as it is shown (sent, or the endpoint's)."""
        value = self["event_types"].value() or []
        return {str(v) for v in value}

    def place(self, error: DomainError) -> None:
        """Show the service's refusal next to the field it is about."""
        code = error.code or ""
        field = "url" if "url" in code else "event_types" if "event" in code else None
        message = error.message[:1].upper() + error.message[1:]
        self.add_error(field, message if message.endswith(".") else message + ".")


class RotateForm(forms.Form):
    grace_hours = forms.TypedChoiceField(choices=GRACES, coerce=int, initial=24)


class ReplayForm(forms.Form):
    """A range in UTC, as `datetime-local` inputs send it (`2026-03-01T09:00`)."""

    since = forms.CharField(max_length=32, label="From (UTC)")
    until = forms.CharField(max_length=32, label="Until (UTC, not included)")

    def _moment(self, name: str) -> datetime | None:
        text = str(self.cleaned_data.get(name) or "").strip().replace(" ", "T")
        for pattern in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=UTC)
            except ValueError:
                continue
        if name not in self.errors:
            self.add_error(name, "Enter a moment such as 2026-03-01 09:00 (UTC).")
        return None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = self._moment("since"), self._moment("until")
        if since and until and since >= until:
            self.add_error("until", "Must be after the start.")
        data["since"], data["until"] = since, until
        return data
