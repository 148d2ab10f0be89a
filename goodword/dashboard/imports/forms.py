"""The upload form: what the file holds, the file, and for past orders whether they are decided
as live orders (`--with-rewards`). The checks of the file itself are the importer's."""

from __future__ import annotations

from typing import Any

from django import forms

from goodword.imports.models import Import

KINDS = [
    (Import.Kind.PARTICIPANTS.value, "Participants"),
    (Import.Kind.ORDERS.value, "Past orders"),
]


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        choices=KINDS, initial=Import.Kind.PARTICIPANTS.value, label="What the file holds"
    )
    # An empty file is the importer's to refuse, in the API's words ("the file is empty…").
    file = forms.FileField(label="CSV file", allow_empty_file=True)
    with_rewards = forms.BooleanField(
        required=False, label="Decide them as live orders (--with-rewards)"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # The box shows for past orders only; ticked and then hidden, it means nothing.
        if data.get("kind") != Import.Kind.ORDERS:
            data["with_rewards"] = False
        return data
