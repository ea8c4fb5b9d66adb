"""Schemathesis over the in-process WSGI app and ``/api/v1/openapi.json``, as each identity.

Shared by ``tests/reliability/test_fuzz_api.py`` (a small budget) and ``bench/bench_fuzz.py`` (a
large one). Every operation of the OpenAPI document is fuzzed with schema-valid (positive) and
schema-breaking (negative) requests, anonymously and as signed-in staff (session cookie, CSRF
cookie and ``X-CSRFToken`` header, an HTTPS origin). Each response is checked for: no 5xx, a
status the document declares, the declared content type, a body that matches the declared schema.

Two ways of reaching real rows (``tests/reliability/seed.py`` seeds them):

- ``fuzz(..., values=...)``: every operation on its own, with explicit strategies for ids and
  body values: three times in four, a path parameter (``case_id``, ``cohort_id`` ...) or a body field
  (``call_sign``, ``enrolment_id``, ``version`` ...) or a query parameter (``q``; ``OMIT`` leaves it
  out) that has seeded values is drawn from them, so
  that the staff operations answer from existing cases, cohorts, results and units rather than 404.
  Negative mode keeps its schema-breaking part and only swaps ids of the right type.
- ``fuzz_stateful``: schemathesis' state machine over links it infers from the document
  (dependency analysis: ``GET /cohorts`` → ``/cohorts/{cohort_id}/results`` → ``/results/{result_id}/
  versions`` ...), so a scenario lists, reads back, writes and reads again what it found.

Failures are collected rather than raised, so one run reports every operation; the caller asserts.
The caller must run inside a database transaction it owns (pytest-django's ``db``) or on a
throwaway database: staff writes really happen.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
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


Values = Mapping[str, Sequence[Any]]
# (identity, operation, path parameters) of a 2xx → a description if that answer should not have been given.
Oracle = Callable[[str, str, dict[str, Any]], str | None]
# In ``values``, a query parameter to leave out (a page cursor the fuzzer cannot know, say).
OMIT = object()


@dataclass
class Report:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    operations: set[str] = field(default_factory=set)
    # Requests and statuses per identity, and how many answers came from a real row: a 2xx of an
    # operation that names a resource in its path.
    by_identity: dict[str, Counter[int]] = field(default_factory=dict)
    real_rows: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)  # wall time per operation, all identities
    links_followed: Counter[str] = field(default_factory=Counter)  # stateful steps whose input came from a link
    # Every 2xx on an operation that names a resource: (identity, operation, its path parameters).
    hits: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    # Answers the ``oracle`` judged wrong when they were given (a row outside the caller's scope).
    leaks: list[str] = field(default_factory=list)
    oracle: Oracle | None = None

    def record(self, identity: str, operation: Any, case: Any, status: int) -> None:
        self.requests += 1
        self.statuses[status] += 1
        self.by_identity.setdefault(identity, Counter())[status] += 1
        if case.path_parameters and 200 <= status < 300:
            self.real_rows[identity] += 1
            params = dict(case.path_parameters)
            self.hits.append((identity, operation.label, params))
            # Judged now, while the rows are as the answer saw them (a scenario's rows are rolled back).
            leak = self.oracle(identity, operation.label, params) if self.oracle else None
            if leak:
                self.leaks.append(leak)

    def summary(self) -> str:
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        lines = [
            f"{self.requests} requests over {len(self.operations)} operations; statuses {statuses}; "
            f"{len(self.failures)} failures"
            + (f"; {len(self.leaks)} answers outside the caller's scope" if self.oracle else "")
        ]
        for name, counts in self.by_identity.items():
            shown = ", ".join(f"{code}: {n}" for code, n in sorted(counts.items()))
            followed = f"; {self.links_followed[name]} links followed" if self.links_followed else ""
            total = sum(counts.values())
            lines.append(f"  {name}: {total} requests ({shown}); {self.real_rows[name]} 2xx on a real row{followed}")
        return "\n".join(lines)


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


def _schema() -> Any:
    return schemathesis.openapi.from_wsgi(SCHEMA_PATH, get_wsgi_application(), base_url=BASE_URL)


def fuzz(
    identities: list[Identity],
    *,
    max_examples: int,
    seed: int | None = None,
    values: Values | None = None,
    oracle: Oracle | None = None,
) -> Report:
    """Runs every operation as every identity, positive then negative, ``max_examples`` each.

    ``values``: seeded ids and body values by parameter or field name, drawn three times in four.
    ``oracle``: judges every 2xx that names a resource when it is given (``Report.leaks``).
    """
    report = Report(oracle=oracle)
    with in_process():
        operations = [result.ok() for result in _schema().get_all_operations()]
        for identity in identities:
            for operation in operations:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    _fuzz_operation(operation, mode, identity, report, max_examples, seed, values or {})
    return report


def _collect(report: Report, label: str, seen: set[str], response: Any, group: FailureGroup) -> None:
    for failure in group.exceptions:
        key = f"{label}: {failure.title}"
        if key not in seen:
            seen.add(key)
            report.failures.append(f"{key}\n{str(failure)[:600]}\n{response.status_code} {response.text[:300]}")


@dataclass
class Chooser:
    """Where ``_use_seeded`` gets its randomness: a Hypothesis ``data`` object or a seeded generator."""

    data: Any = None
    rng: random.Random | None = None

    def swap(self) -> bool:
        if self.rng is not None:
            return self.rng.randrange(4) != 0
        return bool(self.data.draw(st.integers(0, 3), label="seeded?") != 0)

    def choose(self, name: str, pool: Sequence[Any]) -> Any:
        if self.rng is not None:
            return self.rng.choice(list(pool))
        return self.data.draw(st.sampled_from(list(pool)), label=name)


def _use_seeded(case: Any, mode: GenerationMode, values: Values, chooser: Chooser) -> None:
    """Swaps generated ids and body values for seeded ones, three times in four (see the module doc)."""

    def pick(name: str, current: Any) -> Any:
        pool = values.get(name)
        if not pool or (mode == GenerationMode.NEGATIVE and not isinstance(current, type(pool[0]))):
            return current
        return chooser.choose(name, pool) if chooser.swap() else current

    if case.path_parameters:
        case.path_parameters = {name: pick(name, value) for name, value in case.path_parameters.items()}
    if mode == GenerationMode.POSITIVE and case.query:
        query = {name: pick(name, value) for name, value in case.query.items()}
        case.query = {name: value for name, value in query.items() if value is not OMIT}
    if mode == GenerationMode.POSITIVE and isinstance(case.body, dict):
        case.body = {name: pick(name, value) for name, value in case.body.items()}


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    identity: Identity,
    report: Report,
    max_examples: int,
    seed: int | None,
    values: Values,
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
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case: Any, data: Any) -> None:
        _use_seeded(case, mode, values, Chooser(data=data))
        response = case.call(base_url=BASE_URL, headers=dict(identity.headers), cookies=dict(identity.cookies))
        report.record(identity.name, operation, case, response.status_code)
        try:
            case.validate_response(response, checks=CHECKS, headers=identity.headers)
        except FailureGroup as group:
            _collect(report, label, seen, response, group)

    if seed is not None:
        from hypothesis import seed as hypothesis_seed

        run = hypothesis_seed(seed)(run)
    started = time.monotonic()
    try:
        run()
    except Unsatisfiable:
        # Nothing in the operation can be made invalid (no parameters, no body): negative mode is moot.
        assert mode == GenerationMode.NEGATIVE, label
    finally:
        report.seconds[operation.label] += time.monotonic() - started


def fuzz_stateful(
    identities: list[Identity],
    *,
    scenarios: int,
    steps: int,
    values: Values | None = None,
    oracle: Oracle | None = None,
    randomize: bool = False,
) -> Report:
    """Schemathesis' state machine as every identity: ``scenarios`` runs of up to ``steps`` calls each.

    The links come from schemathesis' dependency analysis of the document (a list's ``id`` feeds
    the operations that take that id); the machine starts from operations that need no input and
    follows links to the rows they return. A scenario's first step draws its ids from ``values``
    as ``fuzz`` does (the later steps take theirs from the links). Same checks as ``fuzz``.
    Derandomized (the same scenarios every run) unless ``randomize``.
    """
    report = Report(oracle=oracle)
    with in_process():
        schema = _schema()
        # Links are inferred only when the stateful phase is on (it is by default).
        inferred = schema.analysis.inject_links()
        assert inferred > 0, "schemathesis inferred no links from the OpenAPI document"
        for identity in identities:
            machine = schema.as_state_machine()
            _run_machine(machine, identity, report, scenarios, steps, values or {}, randomize)
    return report


def _run_machine(
    base: Any, identity: Identity, report: Report, scenarios: int, steps: int, values: Values, randomize: bool
) -> None:
    label = f"{identity.name} stateful"
    seen: set[str] = set()
    chooser = Chooser(rng=random.Random(identity.name))  # noqa: S311 — test data, not secrets

    class Machine(base):  # type: ignore[misc, valid-type]
        # Each scenario starts from the same data and the same seeded choices: Hypothesis replays
        # scenario prefixes, and a database changed by the previous scenario (or choices drawn
        # further along) would make it choose rules differently the second time (FlakyStrategyDefinition).
        def setup(self) -> None:
            self._savepoint = transaction.savepoint()
            chooser.rng.seed(identity.name)  # type: ignore[union-attr]

        def teardown(self) -> None:
            transaction.savepoint_rollback(self._savepoint)

        def step(self, input: Any) -> Any:
            if input.transition is None:
                _use_seeded(input.case, GenerationMode.POSITIVE, values, chooser)
            elif input.is_applied:
                report.links_followed[identity.name] += 1
            return super().step(input)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": BASE_URL, "headers": dict(identity.headers), "cookies": dict(identity.cookies)}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            report.operations.add(case.operation.label)
            report.record(identity.name, case.operation, case, response.status_code)
            try:
                case.validate_response(response, checks=CHECKS, headers=identity.headers)
            except FailureGroup as group:
                _collect(report, f"{label} {case.operation.label}", seen, response, group)

    settings = hypothesis_settings(
        max_examples=scenarios,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        derandomize=not randomize,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    Machine.run(settings=settings)
