"""What is wrong with a program document, by the input (or field path) it concerns, in words
for people: from pydantic's validation errors and from the services' domain errors."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from goodword.dashboard.programs.form import loc_path
from goodword.lib.errors import DomainError
from goodword.lib.money import MAX_AMOUNT

Problems = dict[str, list[str]]

_PLAIN = {
    "missing": "required",
    "extra_forbidden": "not a known option",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "datetime_type": "must be a date and time",
    "datetime_parsing": "must be a date and time such as 2026-01-31T09:30:00Z",
    "datetime_from_date_parsing": "must be a date and time such as 2026-01-31T09:30:00Z",
    "greater_than": "must be more than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "string_too_short": "must not be empty",
}


def plain(error: Any) -> str:
    """One pydantic error in words that name no Python type."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind in ("less_than_equal", "less_than") and MAX_AMOUNT in ctx.values():
        return "is too large"  # the limit is in minor units: no use to a person
    if kind in ("literal_error", "enum") and "expected" in ctx:
        return f"must be {ctx['expected']}"
    if kind in ("too_short", "too_long"):
        word = "at least" if kind == "too_short" else "at most"
        limit = int(ctx.get("min_length" if kind == "too_short" else "max_length", 0))
        return f"needs {word} {limit} item{'s' if limit != 1 else ''}"
    if kind == "string_too_long":
        return f"must have at most {ctx.get('max_length')} characters"
    if kind in _PLAIN:
        return _PLAIN[kind].format(**ctx)
    message = str(error.get("msg", ""))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message.replace("Input should be ", "must be ")


def from_validation(exc: ValidationError) -> Problems:
    """pydantic's errors by the path of the value they concern (`rewards.0.amount`)."""
    out: Problems = {}
    for error in exc.errors():
        message = plain(error)
        messages = out.setdefault(loc_path(error["loc"]), [])
        if message not in messages:
            messages.append(message)
    return out


# A service names the field at the start of its message: "rewards[0].conditions.tiers: ...".
_NAMED = re.compile(r"^([a-z_]+(?:\[\d+\]|\.[a-z_]+)*): (.+)$", re.DOTALL)


def from_domain(exc: DomainError) -> Problems:
    """A service's refusal by the path it names (its `details`, or its message's start)."""
    if isinstance(exc.details, list) and exc.details and "loc" in exc.details[0]:
        out: Problems = {}
        for detail in exc.details:
            loc = [p for p in detail["loc"] if p != "body"]
            out.setdefault(loc_path(loc), []).append(str(detail.get("msg", exc.message)))
        return out
    named = _NAMED.match(exc.message)
    if named:
        path = re.sub(r"\[(\d+)\]", r".\1", named[1])
        return {path: [named[2]]}
    if exc.code == "invalid_destination":
        return {"destination_url": ["must be an absolute http(s) address without credentials"]}
    return {"": [exc.message]}


def where(path: str) -> str:
    """A path as the API's errors write it: `rewards.0.amount` -> `rewards[0].amount`."""
    return re.sub(r"\.(\d+)", r"[\1]", path)


def listed(problems: Problems) -> list[tuple[str, str]]:
    """(field as the API writes it, message) for a list of errors, in document order."""
    return [(where(path), m) for path, messages in problems.items() for m in messages]


def parse_json(text: str) -> tuple[Any, str]:
    """The JSON value of `text`, or an error saying where it is not JSON. Like the API, no
    `NaN` or `Infinity`."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not allowed")

    try:
        return json.loads(text, parse_constant=refuse), ""
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    except (ValueError, RecursionError) as exc:
        return None, f"not valid JSON: {exc}" if str(exc) else "not valid JSON: nested too deep"
