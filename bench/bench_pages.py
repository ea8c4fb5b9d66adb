"""Benchmark of the most used staff pages and API calls at 10k / 100k (/ 1M) people: p50, p95 and
SQL queries per request, with the cost at each size as a ratio of the first size's.

Builds a throwaway database (the test settings: a fresh LEGIONARY_HOME, SQLite unless
DATABASE_URL says otherwise) and grows it with the scale fixture (``core.scale.fill``: sealed
identities, blind indexes, cases, checks, cohorts, enrolments, results, a unit tree, assignments,
audit entries) to each size in turn, in one run. At each size it renders every page through the
Django test client, signed in (both factors) as one staff member holding every viewing role
system-wide, so that every list holds the whole instance (the worst case for a list): one warm-up
request, one counted (queries), then ``--renders`` timed ones. Detail pages pick their object once
per size: the first case, an assigned person, the largest cohort (gradebook), a legion (the
largest unit subtree: its roster's first page). With ``--explain`` it also prints the query plans
(``EXPLAIN`` / ``EXPLAIN QUERY PLAN``) of the list and search queries behind the pages. On
PostgreSQL the script runs ``ANALYZE`` after each fill, as autovacuum would after a bulk load;
SQLite gets no statistics (the application does not run ``ANALYZE`` either).

The first row, ``/healthz`` (one ``SELECT 1``, no template), is the machine's own baseline in the same run:
on a shared, loaded box every figure moves with it, so read the pages against it and against
their own first size (the ``x p95`` column). Figures only: no timing is asserted. The script
says whether any page's query count changed between the first and the last size (it must not).

Run: ``PYTHONPATH=src:. .venv/bin/python bench/bench_pages.py [--sizes 10000,100000] [--renders 20] [--explain]``
(PostgreSQL: ``.venv/bin/python -m tests.pgserver -- env PYTHONPATH=src:. .venv/bin/python bench/bench_pages.py``)
"""

from __future__ import annotations

# ruff: noqa: E402 — Django must be set up before the models and services are imported
import argparse
import math
import os
import sys
import time
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.db import connection
from django.db.models import Count, QuerySet
from django.test.utils import CaptureQueriesContext, setup_databases, setup_test_environment, teardown_databases
from django_otp.plugins.otp_totp.models import TOTPDevice

from legionary.access.models import RoleGrant, Staff
from legionary.access.roles import Role, ScopeKind
from legionary.core.scale import fill
from legionary.identity.models import Person
from legionary.pagination import encode_cursor
from legionary.reports.selectors import PeopleFilter, Period, people_list, system_scope
from legionary.training import selectors as training
from legionary.training.models import Cohort
from legionary.units import selectors as units
from legionary.units.models import Assignment, Billet, Unit, UnitKind
from legionary.vetting import selectors as vetting
from legionary.vetting.models import Case, CaseState
from tests.conftest import signed_in

ROLES = (
    Role.INTAKE_OFFICER,
    Role.SENIOR_ADJUDICATOR,
    Role.CI_OFFICER,
    Role.ADMINISTRATOR,
    Role.SECURITY_OFFICER,
    Role.INSTRUCTOR,
)


def _chief() -> Staff:
    staff = Staff.objects.create_user(username="bench-chief", password=None)  # signed in by session only
    for role in ROLES:
        RoleGrant.objects.create(staff=staff, role=role, scope_kind=ScopeKind.SYSTEM, scope_ref="")
    TOTPDevice.objects.create(user=staff, name="authenticator", confirmed=True)
    return staff


def _commander() -> Staff:
    """A unit commander of one company (a narrow scope: people found through their assignments)."""
    company = Unit.objects.filter(kind=UnitKind.COMPANY).order_by("pk").first()
    assert company is not None, "the fixture made no company"
    staff = Staff.objects.create_user(username=f"bench-commander-{company.pk}", password=None)
    RoleGrant.objects.create(
        staff=staff, role=Role.UNIT_COMMANDER, scope_kind=ScopeKind.UNIT, scope_ref=str(company.pk)
    )
    TOTPDevice.objects.create(user=staff, name="authenticator", confirmed=True)
    return staff


def _pages() -> list[tuple[str, str]]:
    """(name, URL) of the measured pages, their objects picked in the data as it is now."""
    case = Case.objects.order_by("pk").values_list("pk", flat=True).first()
    person = Assignment.objects.filter(is_latest=True).order_by("pk").values_list("person_id", flat=True).first()
    legion = Unit.objects.filter(kind=UnitKind.LEGION).order_by("pk").values_list("pk", flat=True).first()
    cohort = Cohort.objects.annotate(n=Count("enrolments")).order_by("-n", "pk").values_list("pk", flat=True).first()
    middle = Person.objects.order_by("call_sign_key").values_list("call_sign_key", flat=True)[
        Person.objects.count() // 2
    ]
    deep = encode_cursor(units.PEOPLE_ORDER, [middle])
    return [
        ("baseline: /healthz (no query)", "/healthz"),
        ("vetting queue", "/cases/"),
        ("case detail", f"/cases/{case}/"),
        ("intake queue", "/intake/"),
        ("units people list", "/units/people/"),
        ("units people, search", f"/units/people/?q={middle[:3]}"),
        ("units people, mid-list page", f"/units/people/?after={deep}"),
        ("person detail", f"/units/people/{person}/"),
        ("unit roster (legion)", f"/units/{legion}/"),
        ("cohort list", "/training/"),
        ("gradebook (largest)", f"/training/cohorts/{cohort}/gradebook"),
        ("expiring qualifications", "/training/qualifications/expiring"),
        ("audit viewer", "/audit/"),
        ("reports dashboard", "/reports/"),
        ("reports people", "/reports/people/"),
        ("api vetting cases", "/api/v1/vetting/cases"),
        ("api units people", "/api/v1/units/people"),
        ("api units roster", f"/api/v1/units/{legion}/roster"),
        ("api training cohorts", "/api/v1/training/cohorts"),
    ]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def _measure(client: Any, url: str, renders: int) -> tuple[int, float, float, int]:
    response = client.get(url, secure=True)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    with CaptureQueriesContext(connection) as captured:
        client.get(url, secure=True)
    queries = len(captured)  # counted now: the next request resets the log the capture reads from
    times = []
    for _ in range(renders):
        started = time.perf_counter()
        response = client.get(url, secure=True)
        times.append(time.perf_counter() - started)
    return queries, 1000 * _percentile(times, 0.5), 1000 * _percentile(times, 0.95), len(response.content)


def _plans(staff: Staff) -> list[tuple[str, QuerySet[Any]]]:
    """The list and search queries behind the pages, as the selectors build them (first page + 1 row)."""
    keys = Person.objects.order_by("call_sign_key").values_list("call_sign_key", flat=True)
    middle = keys[Person.objects.count() // 2]
    some_id = Person.objects.order_by("call_sign_key").values_list("pk", flat=True)[7]
    legion = Unit.objects.filter(kind=UnitKind.LEGION).order_by("pk").first()
    assert legion is not None
    cases = vetting.visible_cases(staff).select_related("person")
    return [
        ("units people: first page", units.people_search(staff=staff)[:101]),
        ("units people: mid-list page", units.people_search(staff=staff).filter(call_sign_key__gt=middle)[:101]),
        ("units people: call sign prefix", units.people_search(staff=staff, query=middle[:3])[:101]),
        ("units people: pseudonymous id", units.people_search(staff=staff, query=some_id)[:101]),
        ("reports people: one legion", people_list(system_scope(exact=True), PeopleFilter(Period(legion="frl")))[:101]),
        ("vetting cases: newest first", cases.order_by(*vetting.CASES_ORDER)[:101]),
        ("vetting queue: to start", cases.filter(state=CaseState.RECEIVED).order_by("created_at", "id")[:51]),
        ("units people: company commander", units.people_search(staff=_commander_of_first_company())[:101]),
        ("training cohorts", training.cohorts_visible_to(staff).order_by(*training.COHORT_ORDER)[:51]),
        (
            "unit roster: a legion's first page",
            Billet.objects.filter(unit__path__within=legion.path).order_by(*units.ROSTER_ORDER)[:201],
        ),
    ]


def _commander_of_first_company() -> Staff:
    return Staff.objects.filter(username__startswith="bench-commander-").get()


def _explain(staff: Staff) -> None:
    for name, queryset in _plans(staff):
        plan = queryset.explain(analyze=True) if connection.vendor == "postgresql" else queryset.explain()
        print(f"--- plan: {name}\n{plan}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="people at each measurement (default 10000,100000)")
    parser.add_argument("--renders", type=int, default=20, help="timed requests per page and size (default 20)")
    parser.add_argument("--explain", action="store_true", help="print the plans of the list and search queries")
    parser.add_argument("--progress", action="store_true", help="draw the fill's progress bar on stderr")
    parser.add_argument(
        "--only", default="", help="measure only the pages whose name holds one of these (comma-separated)"
    )
    args = parser.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        parser.error("--sizes takes whole numbers separated by commas, e.g. 10000,100000")
    if not sizes or any(size < 1 for size in sizes) or sizes != sorted(sizes):
        parser.error("--sizes takes increasing positive numbers, e.g. 10000,100000")
    if args.renders < 2:
        parser.error("--renders must be 2 or more")

    from legionary.audit.services import signing_key_init
    from legionary.identity.services import keyring_init

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        keyring_init()
        signing_key_init()
        chief = _chief()
        client = signed_in(chief)
        commander: Any = None
        print(f"database: {connection.vendor}; fill: core.scale.fill; {args.renders} timed requests per page and size")
        counts: dict[str, dict[int, int]] = {}
        p95s: dict[str, dict[int, float]] = {}
        for size in sizes:
            report = fill(size, progress_to=sys.stderr if args.progress else None)
            if connection.vendor == "postgresql":
                # What autovacuum would do after a bulk load: fresh statistics for the planner.
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            print(f"\n{size} people (fill {report.seconds:.0f} s, {report.people_per_second:.0f} people/s)", flush=True)
            print(f"{'page':<30} {'queries':>7} {'p50 ms':>7} {'p95 ms':>7} {'x p95':>6} {'KiB':>5}")
            if commander is None:
                commander = _commander()
            narrow = [
                ("commander: units people", signed_in(commander), "/units/people/"),
                ("commander: api units people", signed_in(commander), "/api/v1/units/people"),
            ]
            wanted = [w for w in args.only.split(",") if w]
            measured = [(n, client, u) for n, u in _pages()] + narrow
            measured = [
                m for m in measured if m[0].startswith("baseline") or not wanted or any(w in m[0] for w in wanted)
            ]
            for name, viewer, url in measured:
                queries, p50, p95, length = _measure(viewer, url, args.renders)
                counts.setdefault(name, {})[size] = queries
                p95s.setdefault(name, {})[size] = p95
                ratio = p95 / p95s[name][sizes[0]] if p95s[name][sizes[0]] else float("nan")
                print(
                    f"{name:<30} {queries:>7} {p50:>7.1f} {p95:>7.1f} {ratio:>6.2f} {length / 1024:>5.0f}", flush=True
                )
            if args.explain:
                _explain(chief)
        grew = {name: c for name, c in counts.items() if c[sizes[0]] != c[sizes[-1]]}
        print(f"\n'x p95' is the page's p95 at that size over its p95 at {sizes[0]} people.")
        for name, c in grew.items():
            print(f"queries per request changed for {name}: {c}")
        if not grew:
            print(f"queries per request, {sizes[0]} vs {sizes[-1]} people: constant for every page")
        print("(the audit viewer records each view in the Merkle log: O(log n) queries for the new tree nodes)")
        return 0
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
