"""Schemathesis over the in-process WSGI app and ``/api/v1/openapi.json``, as each identity.

Shared by ``tests/reliability/test_fuzz_api.py`` (a small budget) and ``bench/bench_fuzz.py`` (a
large one). Every operation of the OpenAPI document is fuzzed with schema-valid (positive) and
schema-breaking (negative) requests, anonymously and as signed-in staff (session cookie, CSRF
cookie and ``X-CSRFToken`` header, an HTTPS origin). Each response is checked for: no 5xx, a
status the document declares, the declared content type, a body that matches the declared schema.

Failures are collected rather than raised, so one run reports every operation; the caller asserts.
The caller must run inside a database transaction it owns (pytest-django's ``db``) or on a
throwaway database: staff writes really happen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

BASE_URL = "https://localhost"
SCHEMA_PATH = "/api/v1/openapi.json"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Identity:
    """Who the requests come from: nothing (anonymous) or a staff session with its CSRF token."""

    name: str
    cookies: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Report:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    operations: set[str] = field(default_factory=set)

    def summary(self) -> str:
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return (
            f"{self.requests} requests over {len(self.operations)} operations; statuses {statuses}; "
            f"{len(self.failures)} failures"
        )


def staff_identity(name: str, client: Any) -> Identity:
    """An identity from a signed-in Django test client (``tests.conftest.signed_in``)."""
    client.get("/apply/", secure=True)  # sets the CSRF cookie
    csrf = client.cookies[settings.CSRF_COOKIE_NAME].value
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return Identity(
        name=name,
        cookies={settings.SESSION_COOKIE_NAME: session, settings.CSRF_COOKIE_NAME: csrf},
        headers={"X-CSRFToken": csrf, "Referer": BASE_URL + "/", "Origin": BASE_URL},
    )


@contextmanager
def in_process() -> Iterator[None]:
    """Lets the WSGI app share the caller's connection, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def fuzz(identities: list[Identity], *, max_examples: int, seed: int | None = None) -> Report:
    """Runs every operation as every identity, positive then negative, ``max_examples`` each."""
    report = Report()
    with in_process():
        schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, get_wsgi_application(), base_url=BASE_URL)
        operations = [result.ok() for result in schema.get_all_operations()]
        for identity in identities:
            for operation in operations:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    _fuzz_operation(operation, mode, identity, report, max_examples, seed)
    return report


def _fuzz_operation(
    operation: Any, mode: GenerationMode, identity: Identity, report: Report, max_examples: int, seed: int | None
) -> None:
    label = f"{identity.name} {operation.label} ({mode.value})"
    report.operations.add(operation.label)
    seen: set[str] = set()

    @hypothesis_settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=seed is None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=BASE_URL, headers=dict(identity.headers), cookies=dict(identity.cookies))
        report.requests += 1
        report.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=identity.headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                key = f"{label}: {failure.title}"
                if key not in seen:
                    seen.add(key)
                    report.failures.append(f"{key}\n{str(failure)[:600]}\n{response.status_code} {response.text[:300]}")

    if seed is not None:
        from hypothesis import seed as hypothesis_seed

        run = hypothesis_seed(seed)(run)
    try:
        run()
    except Unsatisfiable:
        # Nothing in the operation can be made invalid (no parameters, no body): negative mode is moot.
        assert mode == GenerationMode.NEGATIVE, label
