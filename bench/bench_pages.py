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
largest unit subtree: its roster's first page). With ``--explain`` it also prints the plan
(``EXPLAIN ANALYZE`` / ``EXPLAIN QUERY PLAN``, real parameters) of every query each page sends. On
PostgreSQL the script runs ``ANALYZE`` after each fill, as autovacuum would after a bulk load;
SQLite gets no statistics (the application does not run ``ANALYZE`` either).

Then, as one account per role (``bench-work-<role>``, a system-wide grant each, made before the
first fill so that the fixture gives them its checks, cohorts and results), every role's "My work"
page and the filtered queues its sections link to ("see all": the intake queue, cases assigned to
me, overdue, flagged, awaiting a decision, cohorts, the people list and unit tree, opening
requests, the audit log's identity openings and checkpoints).

The first row, ``/healthz`` (one ``SELECT 1``, no template), is the machine's own baseline in the same run:
on a shared, loaded box every figure moves with it, so read the pages against it and against
their own first size (the ``x p95`` column), and the median CPU milliseconds of this process per
request (``CPU ms``: barely moved by other work on the machine; with SQLite it holds the database's
work, with PostgreSQL not the server's). Figures only: no timing is asserted. The script
says whether any page's query count changed between the first and the last size (it must not).

Run: ``PYTHONPATH=src:. .venv/bin/python bench/bench_pages.py [--sizes 10000,100000] [--renders 20] [--explain]``
(PostgreSQL: ``.venv/bin/python -m tests.pgserver -- env PYTHONPATH=src:. .venv/bin/python bench/bench_pages.py``)
(on a kept database, e.g. a million people filled once: ``LEGIONARY_HOME=/some/dir ... bench_pages.py --keep
--sizes 1000000``; the fill only adds what is missing, and the bench's staff accounts are reused;
``--reuse-rollup`` reads the dashboard from the newest rollup instead of counting one first)
"""

from __future__ import annotations

# ruff: noqa: E402 — Django must be set up before the models and services are imported
import argparse
import math
import os
import sys
import time
from datetime import timedelta
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext, setup_databases, setup_test_environment, teardown_databases
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from legionary.access.models import RoleGrant, Staff
from legionary.access.roles import Role, ScopeKind
from legionary.core.scale import fill
from legionary.identity.models import Person
from legionary.pagination import encode_cursor
from legionary.reports import rollup
from legionary.training.models import Cohort
from legionary.units import selectors as units
from legionary.units.models import Assignment, Unit, UnitKind
from legionary.vetting import selectors as vetting
from legionary.vetting.models import Case
from tests.conftest import signed_in

ROLES = (
    Role.INTAKE_OFFICER,
    Role.SENIOR_ADJUDICATOR,
    Role.CI_OFFICER,
    Role.ADMINISTRATOR,
    Role.SECURITY_OFFICER,
    Role.INSTRUCTOR,
)


def _staff(username: str, grants: list[tuple[str, str, str]]) -> Staff:
    """The bench's staff account with exactly these grants, made once (``--keep``: an earlier run's is reused)."""
    staff = Staff.objects.filter(username=username).first()
    if staff is None:
        staff = Staff.objects.create_user(username=username, password=None)  # signed in by session only
    for role, kind, ref in grants:
        RoleGrant.objects.get_or_create(staff=staff, role=role, scope_kind=kind, scope_ref=ref)
    if not TOTPDevice.objects.filter(user=staff, confirmed=True).exists():
        TOTPDevice.objects.create(user=staff, name="authenticator", confirmed=True)
    return staff


def _chief() -> Staff:
    return _staff("bench-chief", [(role, ScopeKind.SYSTEM, "") for role in ROLES])


# The roles whose "My work" is measured, one account each with a system-wide grant (the worst case:
# every item in the instance is in its scope). Made before the first fill, so that the fixture,
# which gives checks, cohorts and their results to the first staff member holding the role
# system-wide (core.scale), gives them to these accounts: their pages then hold real work.
WORK_ROLES = (
    Role.INTAKE_OFFICER,
    Role.INVESTIGATOR,
    Role.POLYGRAPH_EXAMINER,
    Role.CI_OFFICER,
    Role.ADJUDICATOR,
    Role.INSTRUCTOR,
    Role.UNIT_COMMANDER,
    Role.SECURITY_OFFICER,
    Role.AUDITOR,
)


def _role_staff() -> dict[str, Staff]:
    """One account per role of ``WORK_ROLES``, named ``bench-work-<role>`` (``--keep``: reused)."""
    return {role: _staff(f"bench-work-{role}", [(role, ScopeKind.SYSTEM, "")]) for role in WORK_ROLES}


def _commander() -> Staff:
    """A unit commander of one company (a narrow scope: people found through their assignments)."""
    company = Unit.objects.filter(kind=UnitKind.COMPANY).order_by("pk").first()
    assert company is not None, "the fixture made no company"
    return _staff(f"bench-commander-{company.pk}", [(Role.UNIT_COMMANDER, ScopeKind.UNIT, str(company.pk))])


def _instructor() -> Staff:
    """An instructor of the largest cohort (My work: its due results and sign-offs)."""
    cohort = Cohort.objects.annotate(n=Count("enrolments")).order_by("-n", "pk").first()
    assert cohort is not None, "the fixture made no cohort"
    return _staff(f"bench-instructor-{cohort.pk}", [(Role.INSTRUCTOR, ScopeKind.COHORT, str(cohort.pk))])


def _days_ago(days: int) -> str:
    from legionary.identity import monitor

    return (monitor.today_in(monitor.working_hours().zone) - timedelta(days=days)).isoformat()


OPENERS = 40
OPENINGS_PER_PERSON = 0.5
OPENING_DAYS = 92


def _openings(size: int) -> int:
    """Tops the ``Opening`` rows up to half an opening per person (what the gate writes with each
    opening's audit entry; the scale fill writes none), spread over the last 92 days by 40 staff at
    every hour, a tenth of them break-glass: the openings monitor's worst case is a long history
    in its own scope. Returns how many rows there are."""
    from legionary.identity.models import Opening

    wanted = int(size * OPENINGS_PER_PERSON)
    have = Opening.objects.count()
    if have >= wanted:
        return have
    staff = [_staff(f"bench-opener-{k}", [(Role.INVESTIGATOR, ScopeKind.SYSTEM, "")]) for k in range(OPENERS)]
    people = list(Person.objects.order_by("pk").values_list("pk", flat=True)[:wanted])
    now = timezone.now()
    batch: list[Opening] = []
    for n in range(have, wanted):
        at = now - timedelta(minutes=(n * 7919) % (OPENING_DAYS * 24 * 60))
        unassigned = n % 10 == 0
        batch.append(
            Opening(
                staff=staff[n % OPENERS],
                person_id=people[(n * 31) % len(people)],
                kind="identity",
                at=at,
                check_id=None if unassigned else n,
                audit_index=n,
            )
        )
        if len(batch) == 5000:
            Opening.objects.bulk_create(batch)
            batch = []
    Opening.objects.bulk_create(batch)
    return wanted


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
    # A case in the middle of the in-review list: the page before it is read backwards on the index.
    in_review = Case.objects.filter(state="in_review").order_by("created_at", "pk").values_list("created_at", "pk")
    count = in_review.count()
    back = encode_cursor(vetting.FILTERED_ORDER, list(in_review[count // 2])) if count else ""
    return [
        ("baseline: /healthz (no query)", "/healthz"),
        ("my work (every role)", "/work/"),
        ("vetting my work", "/cases/"),
        ("case detail", f"/cases/{case}/"),
        ("cases: in review, one legion", "/cases/all/?state=in_review&legion=frl"),
        ("cases: with an overdue check", "/cases/all/?overdue=1"),
        ("cases: assigned to me", "/cases/all/?assignee=me"),
        ("cases: flagged", "/cases/all/?flagged=1"),
        ("cases: unassigned, one legion", "/cases/all/?assignee=none&legion=frl"),
        ("cases: a page back", f"/cases/all/?state=in_review&before={back}"),
        ("intake queue", "/intake/"),
        ("intake: one legion, matches", "/intake/?legion=frl&flagged=1"),
        ("units people list", "/units/people/"),
        ("units people, search", f"/units/people/?q={middle[:3]}"),
        ("units people, mid-list page", f"/units/people/?after={deep}"),
        ("units people: active, legion", "/units/people/?status=active&legion=frl"),
        ("units people: one unit", f"/units/people/?unit={legion}"),
        ("units people: a page back", f"/units/people/?before={deep}"),
        ("person detail", f"/units/people/{person}/"),
        ("unit roster (legion)", f"/units/{legion}/"),
        ("unit roster, vacant only", f"/units/{legion}/?vacant=1"),
        ("unit roster: riflemen, active", f"/units/{legion}/?role=rifleman&status=active"),
        ("cohort list", "/training/"),
        ("cohorts: one legion, no lead", "/training/?legion=frl&lead=none"),
        ("gradebook (largest)", f"/training/cohorts/{cohort}/gradebook"),
        ("expiring qualifications", "/training/qualifications/expiring"),
        ("audit viewer", "/audit/"),
        ("reports dashboard", "/reports/"),
        ("reports people", "/reports/people/"),
        ("openings monitor, today", "/openings/monitor/"),
        ("openings monitor, 7 days", "/openings/monitor/?period=7d"),
        ("openings monitor, 92 days", f"/openings/monitor/?period=custom&first={_days_ago(91)}&last={_days_ago(0)}"),
        ("openings summary json, 7d", "/openings/monitor/summary.json?period=7d"),
        ("api vetting cases", "/api/v1/vetting/cases"),
        ("api units people", "/api/v1/units/people"),
        ("api units roster", f"/api/v1/units/{legion}/roster"),
        ("api training cohorts", "/api/v1/training/cohorts"),
    ]


def _role_pages(by_role: dict[str, Staff]) -> list[tuple[str, Any, str]]:
    """(name, signed-in client, URL): each role's "My work" page, then the filtered queues its
    sections link to ("see all"), each as that role sees it. A role's client is shared by its pages."""
    clients = {role: signed_in(staff) for role, staff in by_role.items()}
    pages: list[tuple[str, Any, str]] = [
        (f"my work: {str(role).replace('_', ' ')}", clients[role], "/work/") for role in WORK_ROLES
    ]
    queues = [
        (Role.INTAKE_OFFICER, "intake: intake queue", "/intake/"),
        (Role.INVESTIGATOR, "investigator: assigned to me", "/cases/all/?assignee=me"),
        (Role.INVESTIGATOR, "investigator: overdue", "/cases/all/?overdue=1"),
        (Role.POLYGRAPH_EXAMINER, "polygraph: assigned to me", "/cases/all/?assignee=me"),
        (Role.CI_OFFICER, "ci: flagged", "/cases/all/?flagged=1"),
        (Role.CI_OFFICER, "ci: assigned to me", "/cases/all/?assignee=me"),
        (Role.ADJUDICATOR, "adjudicator: awaiting decision", "/cases/all/?state=awaiting_decision"),
        (Role.INSTRUCTOR, "instructor: cohorts", "/training/"),
        (Role.UNIT_COMMANDER, "commander: people list", "/units/people/"),
        (Role.UNIT_COMMANDER, "commander: unit tree", "/units/"),
        (Role.SECURITY_OFFICER, "security: opening requests", "/openings/"),
        (Role.AUDITOR, "auditor: identity openings", "/audit/?action=identity.unsealed"),
        (Role.AUDITOR, "auditor: checkpoints", "/audit/checkpoints/"),
    ]
    pages += [(name, clients[role], url) for role, name, url in queues]
    return pages


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def _measure(client: Any, url: str, renders: int) -> tuple[int, float, float, float, int]:
    """Queries per request, wall p50 and p95 and median CPU milliseconds of the timed requests, page size.

    CPU is this process's: with SQLite it holds the database's work too, and it barely moves when
    other work shares the machine (wall time does); with PostgreSQL the server's work is not in it."""
    response = client.get(url, secure=True)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    with CaptureQueriesContext(connection) as captured:
        client.get(url, secure=True)
    queries = len(captured)  # counted now: the next request resets the log the capture reads from
    times, cpu = [], []
    for _ in range(renders):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url, secure=True)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    p50, p95 = 1000 * _percentile(times, 0.5), 1000 * _percentile(times, 0.95)
    return queries, p50, p95, 1000 * _percentile(cpu, 0.5), len(response.content)


Statement = tuple[str, Any, float]


def _statements(client: Any, url: str) -> list[Statement]:
    """The SQL, parameters and time of every statement one request of ``url`` sends."""
    seen: list[Statement] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seen.append((sql, params, time.perf_counter() - started))

    with connection.execute_wrapper(record):
        client.get(url, secure=True)
    return seen


def _explain(name: str, client: Any, url: str) -> None:
    """The plan of every SELECT the page sends, with its real parameters (a partial index, for one,
    is chosen by SQLite only when the query states its condition's values, so a plan of the SQL
    with the values pasted in could show an index the page does not use)."""
    for sql, params, took in _statements(client, url):
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN ANALYZE " + sql, params)
                plan = "\n".join(f"    {row[0]}" for row in cursor.fetchall())
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
                plan = "\n".join(f"    {row[-1]}" for row in cursor.fetchall())
        shown = sql if len(sql) <= 300 else sql[:150] + " … " + sql[-150:]
        print(f"--- plan: {name} ({1000 * took:.1f} ms): {shown}\n{plan}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="people at each measurement (default 10000,100000)")
    parser.add_argument("--renders", type=int, default=20, help="timed requests per page and size (default 20)")
    parser.add_argument(
        "--explain", action="store_true", help="print the plan of every query the measured pages send, at each size"
    )
    parser.add_argument("--progress", action="store_true", help="draw the fill's progress bar on stderr")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the database (and reuse one kept before, e.g. a filled 1M one): with LEGIONARY_HOME set, "
        "a size already reached is not filled again",
    )
    parser.add_argument(
        "--only", default="", help="measure only the pages whose name holds one of these (comma-separated)"
    )
    parser.add_argument(
        "--reuse-rollup",
        action="store_true",
        help="on a kept database, read the dashboard from the newest rollup instead of counting one first "
        "(e.g. the one bench_reports.py just made)",
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
    # serialized_aliases=set(): a kept database is not read whole into memory (TransactionTestCase's copy).
    old_config = setup_databases(verbosity=0, interactive=False, keepdb=args.keep, serialized_aliases=set())
    try:
        keyring_init()
        signing_key_init()
        by_role = _role_staff()  # before the chief: the fixture's work goes to the first holder of a role
        chief = _chief()
        commander: Any = None
        instructor: Any = None
        print(f"database: {connection.vendor}; fill: core.scale.fill; {args.renders} timed requests per page and size")
        counts: dict[str, dict[int, int]] = {}
        p95s: dict[str, dict[int, float]] = {}
        for size in sizes:
            report = fill(size, progress_to=sys.stderr if args.progress else None)
            openings_rows = _openings(size)
            if connection.vendor == "postgresql":
                # What autovacuum would do after a bulk load: fresh statistics for the planner.
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            print(f"\n{size} people (fill {report.seconds:.0f} s, {report.people_per_second:.0f} people/s)", flush=True)
            # What the running service does itself after the fill's writes (reports.freshness): the
            # dashboard of a whole-system viewer is then read from a current rollup.
            if args.reuse_rollup and rollup.latest() is not None:
                print("reports rollup: the newest one reused (--reuse-rollup)", flush=True)
            else:
                refreshed = rollup.refresh()
                print(f"reports rollup refreshed in {refreshed.seconds:.1f} s", flush=True)
            print(f"openings (the monitor's rows): {openings_rows}", flush=True)
            print(f"{'page':<30} {'queries':>7} {'p50 ms':>7} {'p95 ms':>7} {'x p95':>6} {'CPU ms':>6} {'KiB':>5}")
            if commander is None:
                commander = _commander()
                instructor = _instructor()
            # Signed in after each fill: a long fill would outlast the 30-minute idle limit.
            client = signed_in(chief)
            narrow = [
                ("commander: units people", signed_in(commander), "/units/people/"),
                ("commander: api units people", signed_in(commander), "/api/v1/units/people"),
                ("commander: people, active", signed_in(commander), "/units/people/?status=active"),
                ("instructor: cohorts, mine", signed_in(instructor), "/training/?lead=me"),
                ("commander: my work", signed_in(commander), "/work/"),
                ("instructor: my work", signed_in(instructor), "/work/"),
                ("chief: my work", client, "/work/"),
                *_role_pages(by_role),
            ]
            wanted = [w for w in args.only.split(",") if w]
            measured = [(n, client, u) for n, u in _pages()] + narrow
            measured = [
                m for m in measured if m[0].startswith("baseline") or not wanted or any(w in m[0] for w in wanted)
            ]
            for name, viewer, url in measured:
                queries, p50, p95, cpu, length = _measure(viewer, url, args.renders)
                counts.setdefault(name, {})[size] = queries
                p95s.setdefault(name, {})[size] = p95
                ratio = p95 / p95s[name][sizes[0]] if p95s[name][sizes[0]] else float("nan")
                print(
                    f"{name:<30} {queries:>7} {p50:>7.1f} {p95:>7.1f} {ratio:>6.2f} {cpu:>6.1f} {length / 1024:>5.0f}",
                    flush=True,
                )
            if args.explain:
                for name, viewer, url in measured[1:]:  # not the baseline
                    _explain(name, viewer, url)
        grew = {name: c for name, c in counts.items() if c[sizes[0]] != c[sizes[-1]]}
        print(f"\n'x p95' is the page's p95 at that size over its p95 at {sizes[0]} people.")
        for name, c in grew.items():
            print(f"queries per request changed for {name}: {c}")
        if not grew:
            print(f"queries per request, {sizes[0]} vs {sizes[-1]} people: constant for every page")
        print(
            "(the audit viewer, and My work for roles that read the audit log, record each view in the Merkle log:"
            " O(log n) queries for the new tree nodes)"
        )
        return 0
    finally:
        if not args.keep:
            teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
