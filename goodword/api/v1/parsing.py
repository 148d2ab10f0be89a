"""The API's request parser: JSON bodies and query strings, refusing text no database keeps.

PostgreSQL cannot store U+0000 in text or jsonb, nor a lone UTF-16 surrogate (JSON allows
`"\\ud800"`), while SQLite would store both: a request carrying one would fail there (a 500),
so the API refuses it up front, alike on both databases. So too NaN and Infinity, which
Python's JSON reader accepts but JSON does not, and documents nested deeper than any of ours
need (saving a very deep one exhausts the stack).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.parser import Parser

from goodword.lib.errors import Invalid

NUL = "\x00"
MAX_DEPTH = 32
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _text_error(loc: list[Any], where: str, char: str) -> Invalid:
    if char == NUL:
        message = f"{where}: text must not contain NUL (\\u0000) characters"
        kind = "string_nul"
    else:
        message = f"{where}: text must not contain lone surrogates (\\u{ord(char):04x})"
        kind = "string_surrogate"
    return Invalid(
        message, code="validation_error", details=[{"loc": loc, "msg": message, "type": kind}]
    )


def _depth_error(loc: list[Any]) -> Invalid:
    message = f"the request body nests more than {MAX_DEPTH} levels deep"
    return Invalid(
        message,
        code="validation_error",
        details=[{"loc": loc, "msg": message, "type": "too_deep"}],
    )


def unstorable(text: str) -> str | None:
    """The first character of `text` that no database here can store, else None."""
    found = _UNSTORABLE.search(text)
    return found.group() if found else None


def check_document(document: Any) -> None:
    """Raise `Invalid` for the first unstorable string (value or key) or too deep a nesting."""
    stack: list[tuple[list[Any], Any]] = [([], document)]
    while stack:
        path, value = stack.pop()
        if len(path) > MAX_DEPTH:
            raise _depth_error(["body", *path[:MAX_DEPTH]])
        texts: list[tuple[list[Any], str]] = []
        if isinstance(value, str):
            texts.append((path, value))
        elif isinstance(value, dict):
            for key, item in value.items():
                texts.append(([*path, key], key))
                stack.append(([*path, key], item))
        elif isinstance(value, list):
            stack.extend(([*path, i], item) for i, item in enumerate(value))
        for where, text in texts:
            char = unstorable(text)
            if char is not None:
                raise _text_error(["body", *where], ".".join(map(str, where)) or "body", char)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


class ApiParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        # Ninja reports any error raised here as a 400; the API's handler answers a
        # DomainError cause as itself (see `api._http_error`).
        document = json.loads(request.body, parse_constant=_not_json)
        check_document(document)
        return document

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        for key, values in data.lists():
            for text in (key, *(v for v in values if isinstance(v, str))):
                char = unstorable(text)
                if char is not None:
                    raise _text_error(["query", key], f"query parameter {key!r}", char)
        return super().parse_querydict(data, list_fields, request)
