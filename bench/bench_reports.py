"""Benchmark of the reports dashboard: render time and SQL queries per render at 10k and 100k people.

Builds a throwaway database (the test settings: a fresh LEGIONARY_HOME, SQLite unless
DATABASE_URL says otherwise) and fills it in steps up to each size with people spread over
legions, months and every stage of the pipeline: their vetting cases and checks (some overdue),
findings on denied cases, screening flags, enrolments in a few cohorts, and assignments to billets
in a unit tree. The fill **bulk-inserts rows directly** (``bulk_create``) and so bypasses the
services: no sealed identity, no blind index, no audit entry; it is not measured. Then renders
``/reports/`` through the Django test client, signed in once as an intake officer (small numbers
hidden) and once as a security officer (exact), and prints per size: people, queries per render,
the median and best render time, and the page size. The query count must not grow with the
number of people; the script says whether it did. Figures only: no timing is asserted.

Run: ``PYTHONPATH=src:. .venv/bin/python bench/bench_reports.py [--sizes 10000,100000] [--renders N]``
(PostgreSQL: ``.venv/bin/python -m tests.pgserver -- env PYTHONPATH=src:. .venv/bin/python bench/bench_reports.py``)
"""

from __future__ import annotations

# ruff: noqa: E402 — Django must be set up before the models and services are imported
import argparse
import datetime
import os
import random
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.db import connection
from django.test.utils import CaptureQueriesContext, setup_databases, setup_test_environment, teardown_databases
from django_otp.plugins.otp_totp.models import TOTPDevice

from legionary.access.models import RoleGrant, Staff
from legionary.access.roles import Role, ScopeKind
from legionary.identity.models import Person, PersonStatus
from legionary.training.models import Cohort, Course, Enrolment, EnrolmentState
from legionary.units import services as units
from legionary.units.models import Assignment, Billet, BilletRole, Unit, UnitKind
from legionary.vetting.models import Case, CaseState, Check, CheckResult, CheckType, Finding, ScreeningFlag, Severity
from tests.conftest import signed_in

UTC = datetime.UTC
LEGIONS = ("frl", "bel", "geo", "intl", "usa", "gbr", "pol")
STATUSES = (
    (PersonStatus.RECEIVED, 10),
    (PersonStatus.IN_VETTING, 25),
    (PersonStatus.DENIED, 15),
    (PersonStatus.APPROVED, 5),
    (PersonStatus.IN_TRAINING, 10),
    (PersonStatus.TRAINED, 5),
    (PersonStatus.ASSIGNED, 10),
    (PersonStatus.ACTIVE, 20),
)
COMPANIES_PER_LEGION = 40
BILLETS_PER_COMPANY = 100
BATCH = 5000


def _staff(username: str, role: str) -> Staff:
    staff = Staff.objects.create_user(username=username, password=None)  # signed in by session, never by password
    RoleGrant.objects.create(staff=staff, role=role, scope_kind=ScopeKind.SYSTEM, scope_ref="")
    TOTPDevice.objects.create(user=staff, name="authenticator", confirmed=True)
    return staff


class Filler:
    """Bulk-inserts people and their pipeline rows, straight into the tables (bypassing services)."""

    def __init__(self, admin: Staff) -> None:
        self.rng = random.Random(7)  # repeatable synthetic data
        self.admin = admin
        self.people = 0
        self.check_types = [
            CheckType.objects.get_or_create(slug=s, defaults={"name": s, "role": Role.INVESTIGATOR})[0]
            for s in ("bench-identity", "bench-background")
        ]
        course = Course.objects.create(code="bench-basic", name="Basic", weeks=12)
        self.cohorts = {
            legion: [
                Cohort.objects.create(
                    course=course,
                    name=f"{legion}-{n}",
                    legion=legion,
                    start_date=datetime.date(2026, 1 + n, 1),
                    site="Site",
                    created_at=datetime.datetime(2025, 12, 1, tzinfo=UTC),
                )
                for n in range(3)
            ]
            for legion in LEGIONS
        }
        overseer = admin
        framework = units.unit_create(actor=admin, kind=UnitKind.FRAMEWORK, name="Framework", overseer=overseer)
        self.free_billets: dict[str, list[int]] = {}
        for legion in LEGIONS:
            top = units.unit_create(
                actor=admin, kind=UnitKind.LEGION, name=legion, overseer=overseer, parent_id=framework.pk, legion=legion
            )
            companies = [
                units.unit_create(
                    actor=admin, kind=UnitKind.COMPANY, name=f"{legion}-{c}", overseer=overseer, parent_id=top.pk
                )
                for c in range(COMPANIES_PER_LEGION)
            ]
            now = datetime.datetime(2025, 12, 1, tzinfo=UTC)
            Billet.objects.bulk_create(
                Billet(unit=company, role=BilletRole.RIFLEMAN, created_at=now)
                for company in companies
                for _ in range(BILLETS_PER_COMPANY)
            )
            self.free_billets[legion] = list(
                Billet.objects.filter(unit__in=Unit.objects.filter(legion=legion)).values_list("pk", flat=True)
            )
        self.other = self._people(1, ["intl"])[0]

    def _people(self, count: int, legions: list[str] | None = None) -> list[tuple[Person, str]]:
        rng = self.rng
        statuses = [s for s, _w in STATUSES]
        weights = [w for _s, w in STATUSES]
        rows = []
        for _ in range(count):
            self.people += 1
            n = self.people
            status = rng.choices(statuses, weights)[0]
            received = datetime.datetime(2025, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), tzinfo=UTC)
            rows.append(
                Person(
                    id=f"pbench{n:018d}",
                    call_sign=f"Bench{n}",
                    call_sign_key=f"bench{n}",
                    legion=(legions or LEGIONS)[n % len(legions or LEGIONS)],
                    status=status,
                    created_at=received,
                )
            )
        Person.objects.bulk_create(rows, batch_size=BATCH)
        return [(p, p.status) for p in rows]

    def add(self, count: int) -> None:
        rng = self.rng
        today = datetime.datetime(2026, 4, 20, tzinfo=UTC)
        for start in range(0, count, BATCH):
            people = self._people(min(BATCH, count - start))
            cases = []
            for person, status in people:
                decided = None
                if status not in (PersonStatus.RECEIVED, PersonStatus.IN_VETTING):
                    decided = person.created_at + datetime.timedelta(days=rng.randint(15, 60))
                state = {
                    PersonStatus.RECEIVED: CaseState.RECEIVED,
                    PersonStatus.IN_VETTING: CaseState.IN_REVIEW,
                    PersonStatus.DENIED: CaseState.DENIED,
                }.get(status, CaseState.APPROVED)
                cases.append(
                    Case(
                        person=person,
                        legion=person.legion,
                        state=state,
                        created_at=person.created_at,
                        updated_at=person.created_at,
                        decided_at=decided,
                        flagged=rng.random() < 0.05,
                    )
                )
            Case.objects.bulk_create(cases, batch_size=BATCH)
            checks, findings, flags, enrolments, assignments = [], [], [], [], []
            for case in cases:
                status = case.person.status
                if case.flagged:
                    flags.append(
                        ScreeningFlag(
                            case=case,
                            matched_person=self.other[0],
                            reasons=["document"],
                            matched_status=PersonStatus.DENIED,
                            created_at=case.created_at,
                        )
                    )
                if status == PersonStatus.RECEIVED:
                    continue
                vetting = case.created_at + datetime.timedelta(days=rng.randint(1, 10))
                for position, check_type in enumerate(self.check_types):
                    open_ = status == PersonStatus.IN_VETTING and position == 1
                    due = (today + datetime.timedelta(days=rng.randint(-20, 20))).date() if open_ else vetting.date()
                    checks.append(
                        Check(
                            case=case,
                            check_type=check_type,
                            position=position,
                            due_on=due,
                            result="" if open_ else CheckResult.CLEAR,
                            created_at=vetting,
                        )
                    )
                if status == PersonStatus.DENIED:
                    findings.append(
                        Finding(
                            case=case,
                            guideline=rng.choice("ABEFGHJ"),
                            disqualifying_condition="bench",
                            severity=Severity.SERIOUS,
                            recorded_by=self.admin,
                            created_at=vetting,
                        )
                    )
                if status in (
                    PersonStatus.IN_TRAINING,
                    PersonStatus.TRAINED,
                    PersonStatus.ASSIGNED,
                    PersonStatus.ACTIVE,
                ):
                    assert case.decided_at is not None
                    enrolled = case.decided_at + datetime.timedelta(days=rng.randint(3, 20))
                    done = status != PersonStatus.IN_TRAINING
                    completed = (enrolled + datetime.timedelta(days=84)).date() if done else None
                    enrolments.append(
                        Enrolment(
                            cohort=rng.choice(self.cohorts[case.legion]),
                            person=case.person,
                            state=EnrolmentState.COMPLETED if done else EnrolmentState.ACTIVE,
                            enrolled_at=enrolled,
                            completed_on=completed,
                        )
                    )
                    free = self.free_billets[case.legion]
                    if status in (PersonStatus.ASSIGNED, PersonStatus.ACTIVE) and completed and free:
                        started = completed + datetime.timedelta(days=rng.randint(1, 20))
                        assignments.append(
                            Assignment(
                                person=case.person,
                                billet_id=free.pop(),
                                started_on=started,
                                assigned_by=self.admin,
                                created_at=today,
                            )
                        )
            Check.objects.bulk_create(checks, batch_size=BATCH)
            Finding.objects.bulk_create(findings, batch_size=BATCH)
            ScreeningFlag.objects.bulk_create(flags, batch_size=BATCH)
            Enrolment.objects.bulk_create(enrolments, batch_size=BATCH)
            Assignment.objects.bulk_create(assignments, batch_size=BATCH)


def _measure(staff: Staff, renders: int) -> tuple[int, list[float], int]:
    client = signed_in(staff)
    response = client.get("/reports/", secure=True)
    assert response.status_code == 200
    with CaptureQueriesContext(connection) as captured:
        client.get("/reports/", secure=True)
    # Counted now: the next request resets the connection's query log the capture reads from.
    queries = len(captured)
    times = []
    for _ in range(renders):
        started = time.perf_counter()
        response = client.get("/reports/", secure=True)
        times.append(time.perf_counter() - started)
    return queries, times, len(response.content)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="people at each measurement (default 10000,100000)")
    parser.add_argument("--renders", type=int, default=5, help="timed renders per viewer and size (default 5)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from legionary.audit.services import signing_key_init
    from legionary.identity.services import keyring_init

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        keyring_init()
        signing_key_init()
        admin = _staff("bench-admin", Role.ADMINISTRATOR)
        viewers = {
            "protected": _staff("bench-intake", Role.INTAKE_OFFICER),
            "exact": _staff("bench-security", Role.SECURITY_OFFICER),
        }
        filler = Filler(admin)
        print(
            f"database: {connection.vendor}; {len(LEGIONS)} legions, "
            f"{len(LEGIONS) * COMPANIES_PER_LEGION * BILLETS_PER_COMPANY} billets; fill bypasses the services"
        )
        print(f"{'people':>7} {'viewer':>9} {'queries':>8} {'median ms':>10} {'best ms':>8} {'KiB':>5}  (fill s)")
        counts: dict[int, set[int]] = {}
        for size in sizes:
            started = time.perf_counter()
            filler.add(size - filler.people)
            fill = time.perf_counter() - started
            counts[size] = set()
            for name, staff in viewers.items():
                queries, times, length = _measure(staff, args.renders)
                counts[size].add(queries)
                print(
                    f"{size:>7} {name:>9} {queries:>8} {1000 * statistics.median(times):>10.0f} "
                    f"{1000 * min(times):>8.0f} {length / 1024:>5.0f}  ({fill:.0f})"
                )
        first, last = counts[sizes[0]], counts[sizes[-1]]
        verdict = "constant" if first == last else f"GREW from {sorted(first)} to {sorted(last)}"
        print(f"queries per render, {sizes[0]} vs {sizes[-1]} people: {verdict}")
        return 0 if first == last else 1
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
