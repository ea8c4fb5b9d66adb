"""Benchmark of the gradebook page: a 200-person cohort on a 12-module course against a 20-person one.

Builds a throwaway database (the test settings: a fresh LEGIONARY_HOME, SQLite unless
DATABASE_URL says otherwise), a 12-module course with two assessments per module, and two cohorts
whose people have a result in every assessment and a few days of attendance, all through the
training services. Then renders ``/training/cohorts/<id>/gradebook`` through the Django test
client, signed in as the cohorts' instructor, and prints per cohort: people, cells, SQL queries per
render, and the median and best time per render. The query count must not grow with the cohort
(no N+1); the script says whether it did. Figures only: no timing is asserted.

Run: ``PYTHONPATH=src:. .venv/bin/python bench/bench_gradebook.py [--renders N]``
"""

from __future__ import annotations

# ruff: noqa: E402 — Django must be set up before the models and services are imported
import argparse
import os
import statistics
import sys
import time
from datetime import date

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext, setup_databases, setup_test_environment, teardown_databases
from django_otp.plugins.otp_totp.models import TOTPDevice

from legionary.access.models import RoleGrant, Staff
from legionary.access.roles import Role, ScopeKind
from legionary.identity.models import PersonStatus
from legionary.identity.services import Actor, person_create
from legionary.training import curriculum, services
from legionary.training.models import Assessment, Cohort, Course, Enrolment, Module
from tests.conftest import signed_in

MODULES = 12
SIZES = (20, 200)


def _course() -> Course:
    document = {
        "format": curriculum.FORMAT,
        "qualifications": [{"code": f"bench-q{m}", "name": f"Bench qualification {m}", "validity_months": 12}
                           for m in range(MODULES)],
        "courses": [{
            "code": "bench", "name": "Bench course", "weeks": 12,
            "modules": [{
                "code": f"m{m:02d}", "name": f"Module {m}", "default_week": m + 1, "grants": [f"bench-q{m}"],
                "assessments": [
                    {"code": f"m{m:02d}-{kind[0]}", "name": f"Module {m} {kind}", "kind": kind, "max_score": 100,
                     "pass_mark": mark}
                    for kind, mark in (("written", 60), ("practical", 70))
                ],
            } for m in range(MODULES)],
        }],
    }  # fmt: skip
    curriculum.load(document, apps.get_model)
    return Course.objects.get(code="bench")


def _staff(username: str, role: str, scope_kind: str, scope_ref: str = "") -> Staff:
    staff = Staff.objects.create_user(username=username, password="bench-password-not-secret")  # noqa: S106
    RoleGrant.objects.create(staff=staff, role=role, scope_kind=scope_kind, scope_ref=scope_ref)
    TOTPDevice.objects.create(user=staff, name="authenticator", confirmed=True)
    return staff


def _cohort(course: Course, admin: Staff, instructor: Staff, size: int, tag: str) -> Cohort:
    cohort = services.cohort_create(
        actor=admin, course_id=course.pk, name=f"Bench {size}", legion="frl", start_date=date(2025, 3, 3), site="Bench"
    )
    RoleGrant.objects.create(
        staff=instructor, role=Role.INSTRUCTOR, scope_kind=ScopeKind.COHORT, scope_ref=str(cohort.pk)
    )
    for n in range(size):
        person = person_create(
            identity={"given_names": "Bench", "family_name": "Trainee", "date_of_birth": "1990-01-01"},
            legion="frl",
            actor=Actor("bench"),
            preferred_call_sign=f"Bench {tag} {n:03d}",
        )
        person.status = PersonStatus.APPROVED
        person.save(update_fields=["status"])
        services.cohort_enrol(actor=admin, cohort_id=cohort.pk, call_sign=person.call_sign)
    enrolments = list(Enrolment.objects.filter(cohort=cohort).values_list("pk", flat=True))
    for module in Module.objects.filter(course=course):
        assessments = list(Assessment.objects.filter(module=module).values_list("pk", flat=True))
        scores = {(e, a): (e * 7 + a * 13) % 101 for e in enrolments for a in assessments}
        services.results_record(actor=instructor, cohort_id=cohort.pk, module_id=module.pk, scores=scores)
        for day in (3, 4):
            services.attendance_record(
                actor=instructor,
                cohort_id=cohort.pk,
                module_id=module.pk,
                day=date(2025, 3, day),
                present={e: (e + day) % 9 != 0 for e in enrolments},
            )
    return cohort


def _measure(instructor: Staff, cohort: Cohort, renders: int) -> tuple[int, list[float], int]:
    client = signed_in(instructor)
    url = f"/training/cohorts/{cohort.pk}/gradebook"
    first = client.get(url, secure=True)  # warm-up: session, templates, translations
    assert first.status_code == 200, first.status_code
    with CaptureQueriesContext(connection) as captured:
        client.get(url, secure=True)
    # Counted now: the next request's request_started signal empties the connection's query log.
    queries = len(captured.captured_queries)
    times = []
    for _ in range(renders):
        started = time.perf_counter()
        response = client.get(url, secure=True)
        times.append(time.perf_counter() - started)
    return queries, times, len(response.content)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=20, help="timed renders per cohort (default 20)")
    parser.add_argument("--sizes", type=int, nargs=2, default=SIZES, help="people in the small and the large cohort")
    args = parser.parse_args()

    from legionary.audit.services import signing_key_init
    from legionary.identity.services import keyring_init

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        keyring_init()
        signing_key_init()
        admin = _staff("bench-admin", Role.ADMINISTRATOR, ScopeKind.SYSTEM)
        instructor = _staff("bench-instructor", Role.INSTRUCTOR, ScopeKind.SYSTEM)
        course = _course()
        print(f"database: {connection.vendor}; course: {MODULES} modules, {2 * MODULES} assessments")
        print(f"{'people':>6} {'cells':>6} {'queries':>8} {'median ms':>10} {'best ms':>8} {'KiB':>6}  (set-up s)")
        counts = {}
        sizes = tuple(args.sizes)
        for size in sizes:
            started = time.perf_counter()
            cohort = _cohort(course, admin, instructor, size, tag=f"{size}")
            setup = time.perf_counter() - started
            queries, times, length = _measure(instructor, cohort, args.renders)
            counts[size] = queries
            print(
                f"{size:>6} {size * 2 * MODULES:>6} {queries:>8} {1000 * statistics.median(times):>10.1f} "
                f"{1000 * min(times):>8.1f} {length / 1024:>6.0f}  ({setup:.0f})"
            )
        small, large = counts[sizes[0]], counts[sizes[-1]]
        verdict = "constant (no N+1)" if small == large else f"GREW from {small} to {large}"
        print(f"queries per render, {sizes[0]} vs {sizes[-1]} people: {verdict}")
        return 0 if small == large else 1
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
