"""The forms of the rewards pages. Each checks what the API's schema for the same action
checks (`goodword/api/v1/rewards.py`, `participants.py`, `payouts.py`, `coupons.py`), with
money typed in major units, and puts every complaint next to its field."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from pydantic import ValidationError

from goodword.lib.money import MAX_AMOUNT, is_currency, parse_major
from goodword.participants.models import Participant
from goodword.programs.models import Program, RewardRule
from goodword.programs.rules import POINTS, OfferSpec

MAX_CODES = 10_000  # per upload, as `POST /coupon-pools/{id}/codes`
# As the API's `Code`: what shops accept as a coupon code.
CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class ReasonForm(forms.Form):
    """Why a reward is rejected or reversed, or a payout failed (the API's `Reason`)."""

    reason = forms.CharField(
        max_length=500, error_messages={"required": "Give a reason: it goes in the audit log."}
    )


class ReferenceForm(forms.Form):
    """The business's reference for something delivered or paid (the API's `FulfilIn`)."""

    reference = forms.CharField(
        max_length=255,
        error_messages={"required": "Give your reference: an order, gift card or payment id."},
    )


def _currency(text: str) -> str:
    code = text.strip().upper()
    if not is_currency(code):
        raise forms.ValidationError(f"{code or text!r} is not a currency code such as USD or EUR")
    return code


class GrantForm(forms.Form):
    """A reward granted by hand (the API's `ManualRewardIn`): what it gives is an
    `OfferSpec`, checked by it."""

    participant = forms.CharField(max_length=255, label="Participant (external id)")
    kind = forms.ChoiceField(choices=RewardRule.Kind.choices)
    amount = forms.CharField(required=False, max_length=32)
    currency = forms.CharField(required=False, max_length=3)
    percent_off = forms.IntegerField(required=False, min_value=1, max_value=100)
    sku = forms.CharField(required=False, max_length=100, label="Product SKU")
    cause = forms.CharField(required=False, max_length=200)
    description = forms.CharField(required=False, max_length=500)
    program = forms.ChoiceField(required=False)
    reason = forms.CharField(
        max_length=500, error_messages={"required": "Give a reason: it goes in the audit log."}
    )

    def __init__(self, *args: Any, workspace_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace_id = workspace_id
        self.programs = {
            p.public_id: p for p in Program.objects.for_workspace(workspace_id).order_by("name")
        }
        program = self.fields["program"]
        assert isinstance(program, forms.ChoiceField)  # noqa: S101 - declared above
        program.choices = [("", "None")] + [(p.public_id, p.name) for p in self.programs.values()]
        self.offer: OfferSpec | None = None
        self.found: Participant | None = None

    def clean_participant(self) -> str:
        external_id = str(self.cleaned_data["participant"]).strip()
        self.found = (
            Participant.objects.for_workspace(self.workspace_id)
            .filter(external_id=external_id)
            .first()
        )
        if self.found is None:
            raise forms.ValidationError("No participant has this external id in this workspace.")
        return external_id

    def chosen_program(self) -> Program | None:
        return self.programs.get(self.cleaned_data.get("program") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind is None:
            return data
        program = self.chosen_program()
        offer: dict[str, Any] = {"kind": kind}
        if kind != "points":
            try:
                offer["currency"] = _currency(
                    data.get("currency") or (program.currency if program else "USD")
                )
            except forms.ValidationError as error:
                self.add_error("currency", error)
                return data
        amount = str(data.get("amount") or "").strip()
        if amount:
            try:
                offer["amount"] = _amount(amount, offer.get("currency", POINTS))
            except ValueError as error:
                self.add_error("amount", str(error))
                return data
        for name in ("percent_off", "sku", "cause", "description"):
            if data.get(name) not in (None, ""):
                offer[name] = data[name]
        try:
            self.offer = OfferSpec.model_validate(offer)
        except ValidationError as error:
            message = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
            self.add_error(_field_named(message), message.replace("`", ""))
        return data


def _amount(text: str, currency: str) -> int:
    """An amount in major units; points are whole."""
    if currency == POINTS:
        cleaned = text.replace(",", "")
        if not cleaned.isdigit():
            raise ValueError("points are whole: enter a number such as 120")
        value = int(cleaned)
        if value > MAX_AMOUNT:
            raise ValueError("that amount is too large")
    else:
        value = parse_major(text, currency)
    if value <= 0:
        raise ValueError("enter an amount above 0")
    return value


def _field_named(message: str) -> str | None:
    """The field an `OfferSpec` complaint is about: the first one it names in backticks."""
    for name in ("sku", "cause", "description", "percent_off", "amount"):
        if f"`{name}`" in message:
            return name
    return "amount" if "amount" in message else None


class CreditForm(forms.Form):
    """Credit added or taken by hand (the API's `CreditAdjustmentIn`)."""

    participant = forms.CharField(max_length=255, label="Participant (external id)")
    direction = forms.ChoiceField(choices=[("add", "Add credit"), ("take", "Take credit")])
    amount = forms.CharField(max_length=32)
    currency = forms.CharField(max_length=3, initial="USD")
    reason = forms.CharField(
        max_length=500, error_messages={"required": "Give a reason: it goes in the audit log."}
    )

    def __init__(self, *args: Any, workspace_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace_id = workspace_id
        self.found: Participant | None = None

    def clean_participant(self) -> str:
        external_id = str(self.cleaned_data["participant"]).strip()
        self.found = (
            Participant.objects.for_workspace(self.workspace_id)
            .filter(external_id=external_id)
            .first()
        )
        if self.found is None:
            raise forms.ValidationError("No participant has this external id in this workspace.")
        return external_id

    def clean_currency(self) -> str:
        return _currency(str(self.cleaned_data["currency"]))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "currency" in data and "amount" in data:
            try:
                value = _amount(str(data["amount"]), data["currency"])
            except ValueError as error:
                self.add_error("amount", str(error))
                return data
            data["minor"] = -value if data.get("direction") == "take" else value
        return data


class BatchForm(forms.Form):
    """A payout batch to propose (the API's `PayoutBatchIn`), its minimum in major units."""

    currency = forms.CharField(max_length=3)
    minimum = forms.CharField(required=False, max_length=32, label="Minimum per participant")

    def clean_currency(self) -> str:
        return _currency(str(self.cleaned_data["currency"]))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        text = str(data.get("minimum") or "").strip()
        data["min_amount"] = 0
        if text and "currency" in data:
            try:
                data["min_amount"] = parse_major(text, data["currency"])
            except ValueError as error:
                self.add_error("minimum", str(error))
        return data


class PoolForm(forms.Form):
    """A new coupon pool (the API's `PoolIn`)."""

    name = forms.CharField(max_length=100)
    low_threshold = forms.IntegerField(
        min_value=0, max_value=1_000_000, initial=0, label="Warn when this many codes are left"
    )


class CodesForm(forms.Form):
    """Codes pasted one per line (the API's `CodesIn`): blank lines are skipped."""

    codes = forms.CharField(
        widget=forms.Textarea,
        error_messages={"required": "Paste at least one code, one per line."},
    )

    def clean_codes(self) -> list[str]:
        lines = [line.strip() for line in str(self.cleaned_data["codes"]).splitlines()]
        codes = [line for line in lines if line]
        if not codes:
            raise forms.ValidationError("Paste at least one code, one per line.")
        if len(codes) > MAX_CODES:
            raise forms.ValidationError(
                f"{len(codes):,} codes: upload at most {MAX_CODES:,} at a time."
            )
        bad = [(n, line) for n, line in enumerate(lines, 1) if line and not CODE.match(line)]
        if bad:
            shown = "; ".join(f"line {n}: {line[:50]!r}" for n, line in bad[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            rule = "A code is 1 to 40 letters, digits, dashes or underscores."
            raise forms.ValidationError(f"{rule} Not codes: {shown}{more}.")
        return codes
