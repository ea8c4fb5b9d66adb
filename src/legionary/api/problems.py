"""The API's one error format (RFC 7807 / RFC 9457 problem details) and its schema.

Every 4xx the API gives is built here: ``{"type", "title", "status", "detail", "errors": [...]}``
with ``errors`` naming fields. A problem never repeats the submitted value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.http import HttpResponse
from ninja import Schema

from legionary.intake.schema import FieldError

PROBLEM_BASE = "https://legionary.invalid/problems/"


class FieldProblem(Schema):
    field: str
    message: str


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = []


def problem(status: int, kind: str, title: str, detail: str, errors: Sequence[FieldError] = ()) -> HttpResponse:
    body = {
        "type": PROBLEM_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [{"field": e.field, "message": e.message} for e in errors],
    }
    return HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type="application/problem+json; charset=utf-8"
    )
