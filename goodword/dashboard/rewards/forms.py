"""The forms of the rewards pages. Money is typed in major units; each form converts it and
validates the same schema as the API's endpoint for the action (`goodword.rewards.schemas`),
and puts every complaint next to its field."""

from __future__ import annotations

from typing import Any, TypeVar

from django import forms
from pydantic import BaseModel, ValidationError

from goodword.lib.money import MAX_AMOUNT, is_currency, parse_major
from goodword.participants.models import Participant
from goodword.programs.models import Program, RewardRule
from goodword.programs.rules import POINTS, OfferSpec
from goodword.rewards.schemas import (
    CODE_RULE,
    MAX_CODES,
    CodesIn,
    CreditAdjustmentIn,
    ManualRewardIn,
    PayoutBatchIn,
    error_message,
    is_code,
)

Model = TypeVar("Model", bound=BaseModel)

# Stands in for a reason the form refused already, so that the schema still checks the rest.
_SOME_REASON = "-"


def validated(
    form: forms.Form,
    schema: type[Model],
    data: dict[str, Any],
    *,
    renamed: dict[str, str] | None = None,
) -> Model | None:
    """`data` checked by the API's schema for the action; None, with each complaint added next
    to the field it names (`renamed` maps the schema's names to the form's), or else the first
    field it mentions, when the schema refuses."""
    try:
        return schema.model_validate(data)
    except ValidationError as error:
        for problem in error.errors():
            message = error_message(problem)
            loc = problem["loc"]
            name = (renamed or {}).get(str(loc[0]), str(loc[0])) if loc else ""
            field = name if name in form.fields else _field_named(message)
            if field not in form.errors:
                form.add_error(field, message.replace("`", ""))
        return None


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
        default_currency = program.currency if program else "USD"
        body: dict[str, Any] = {"kind": kind, "reason": data.get("reason") or _SOME_REASON}
        if kind != "points":
            try:
                body["currency"] = _currency(data.get("currency") or default_currency)
            except forms.ValidationError as error:
                self.add_error("currency", error)
                return data
        amount = str(data.get("amount") or "").strip()
        if amount:
            try:
                body["amount"] = _amount(amount, body.get("currency", POINTS))
            except ValueError as error:
                self.add_error("amount", str(error))
                return data
        for name in ("percent_off", "sku", "cause", "description"):
            if data.get(name) not in (None, ""):
                body[name] = data[name]
        manual = validated(self, ManualRewardIn, body)
        if manual is not None:
            self.offer = manual.offer(default_currency=default_currency)
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
    """The field a complaint with no field of its own (an `OfferSpec` rule) is about: the
    first one it names in backticks."""
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
            minor = -value if data.get("direction") == "take" else value
            body = {
                "amount": minor,
                "currency": data["currency"],
                "reason": data.get("reason") or _SOME_REASON,
            }
            if validated(self, CreditAdjustmentIn, body) is not None:
                data["minor"] = minor
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
        if "currency" not in data:
            return data
        if text:
            try:
                data["min_amount"] = parse_major(text, data["currency"])
            except ValueError as error:
                self.add_error("minimum", str(error))
                return data
        body = {"currency": data["currency"], "min_amount": data["min_amount"]}
        validated(self, PayoutBatchIn, body, renamed={"min_amount": "minimum"})
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
        bad = [(n, line) for n, line in enumerate(lines, 1) if line and not is_code(line)]
        if bad:
            shown = "; ".join(f"line {n}: {line[:50]!r}" for n, line in bad[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            rule = CODE_RULE[0].upper() + CODE_RULE[1:]
            raise forms.ValidationError(f"{rule}. Not codes: {shown}{more}.")
        # The API's schema, so both take the same uploads (the checks above say it per line).
        return CodesIn(codes=codes).codes
