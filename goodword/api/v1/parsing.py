"""The API's request parser: JSON bodies and query strings, refusing NUL characters.

PostgreSQL cannot store U+0000 in text or jsonb: a NUL that reached a query would fail there
(a 500) while SQLite would store it, so the API refuses it up front, alike on both databases.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.parser import Parser

from goodword.lib.errors import Invalid

NUL = "\x00"


def _nul_error(loc: list[Any], where: str) -> Invalid:
    message = f"{where}: text must not contain NUL (\\u0000) characters"
    return Invalid(
        message,
        code="validation_error",
        details=[{"loc": loc, "msg": message, "type": "string_nul"}],
    )


def find_nul(document: Any) -> list[Any] | None:
    """Return the path to the first string (value or key) holding a NUL, else None."""
    stack: list[tuple[list[Any], Any]] = [([], document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if NUL in value:
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                if NUL in key:
                    return [*path, key]
                stack.append(([*path, key], item))
        elif isinstance(value, list):
            stack.extend(([*path, i], item) for i, item in enumerate(value))
    return None


class ApiParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        # Ninja reports any error raised here as a 400; the API's handler answers a
        # DomainError cause as itself (see `api._http_error`).
        document = json.loads(request.body)
        path = find_nul(document)
        if path is not None:
            raise _nul_error(["body", *path], ".".join(map(str, path)) or "body")
        return document

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        for key, values in data.lists():
            if NUL in key or any(isinstance(v, str) and NUL in v for v in values):
                raise _nul_error(["query", key], f"query parameter {key!r}")
        return super().parse_querydict(data, list_fields, request)
