"""Arrival screening and the possible-duplicate backfill where common tokens make groups larger than
``matching.MAX_BUCKET``: the bounded join of ``identity.services._agreeing_with`` (a token with a
``MAX_BUCKET + 1``-th holder left out in SQL) against the join it replaced (every holder of every
token fetched, the crowds dropped in Python), on the same database in one run.

The population is ``core.scale.fill`` with every birth date moved into ``--birth-years`` years
(default 2; month and day kept): as many people per birth date as a fill over the fixture's 40
years with 20 times as many people. So at ``--people 20000`` the groups of a name with a year of
birth hold ~140 people and those of a birth date without patronymic ~30, about what the 544k-person
scale fill holds (~190 and ~40), which is what made the backfill slow there (docs/benchmarks.md).

Then, for each of the two joins in turn, ``--repeats`` times:

* the backfill (``vetting.services.possible_backfill``) over the first ``--cases`` unmarked cases in
  batches of ``--batch-size``, inside a transaction that is rolled back: cases per second, and what
  it would have marked;
* ``--arrivals`` applications from the same population submitted through intake
  (``intake.services.application_submit``, import channel), each in a transaction rolled back: SQL
  statements and milliseconds per submission, and the milliseconds of its screening join alone.

Before timing, both joins screen the same cases (the backfill's first batch) and the run stops
unless they give the same candidates, tiers and reasons. ``--explain`` prints PostgreSQL's plan of
the bounded join for one arrival (``EXPLAIN (ANALYZE, BUFFERS)``).

    python -m tests.pgserver -- python bench/bench_common_tokens.py --people 20000 --explain
"""

from __future__ import annotations

# ruff: noqa: E402 — Django must be set up before the models and services are imported
import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("LEGIONARY_APPLY_LIMIT", "100000000")

import django

django.setup()

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, setup_databases, setup_test_environment

from legionary.core import demo, scale
from legionary.identity import matching, services
from legionary.identity.models import BlindIndex
from legionary.intake.schema import validate_application
from legionary.intake.services import Channel, application_submit
from legionary.vetting.models import Case
from legionary.vetting.services import possible_backfill

Agreeing = tuple[dict[str, dict[str, set[str]]], dict[str, set[str]]]
BOUNDED: Callable[[list[str]], Agreeing] = services._agreeing_with


def unbounded(person_ids: list[str]) -> Agreeing:
    """The join as it was before the bound (commit 2ec3e69): every holder of each token fetched,
    groups of ``MAX_BUCKET`` others or more dropped in Python. Kept here to compare, nowhere else."""
    table = connection.ops.quote_name(BlindIndex._meta.db_table)
    marks = ", ".join(["%s"] * len(person_ids))
    sql = (
        f"SELECT mine.person_id, theirs.person_id, theirs.name, theirs.value FROM {table} mine "  # noqa: S608
        f"JOIN {table} theirs ON theirs.name = mine.name AND theirs.key_version = mine.key_version "
        f"AND theirs.value = mine.value WHERE mine.person_id IN ({marks}) AND theirs.person_id <> mine.person_id"
    )
    per_value: dict[tuple[str, str, bytes], set[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, person_ids)
        for mine, other, name, value in cursor.fetchall():
            per_value.setdefault((mine, name, bytes(value)), set()).add(other)
    agreeing: dict[str, dict[str, set[str]]] = {}
    for (mine, name, _value), others in per_value.items():
        if len(others) >= matching.MAX_BUCKET:
            continue
        for other in others:
            agreeing.setdefault(mine, {}).setdefault(other, set()).add(name)
    involved = set(agreeing) | {other for found in agreeing.values() for other in found}
    kinds: dict[str, set[str]] = {}
    if involved:
        for owner, name in (
            BlindIndex.objects.filter(person_id__in=list(involved)).values_list("person_id", "name").distinct()
        ):
            kinds.setdefault(owner, set()).add(name)
    return agreeing, kinds


JOINS: dict[str, Callable[[list[str]], Agreeing]] = {"before (unbounded)": unbounded, "after (bounded)": BOUNDED}


@contextmanager
def using(join: Callable[[list[str]], Agreeing]) -> Iterator[None]:
    services._agreeing_with = join  # type: ignore[assignment]  # read at call time by screening_candidates_many
    try:
        yield
    finally:
        services._agreeing_with = BOUNDED  # type: ignore[assignment]


class _RollBack(Exception):
    pass


def squeezed(years: int) -> Callable[[random.Random, int, str], dict[str, Any]]:
    original = demo.synthetic_identity

    def identity(rng: random.Random, n: int, legion: str) -> dict[str, Any]:
        made = original(rng, n, legion)
        year, rest = made["date_of_birth"].split("-", 1)
        made["date_of_birth"] = f"{1980 + int(year) % years}-{rest}"
        return made

    return identity


def backfill_rate(cases: int, batch_size: int) -> tuple[float, int, int]:
    """(cases per second, would open, would conclude) over the first ``cases`` unmarked cases."""
    examined = 0

    def progress(n: int) -> None:
        nonlocal examined
        examined += n
        if examined >= cases:
            raise _RollBack

    started = time.perf_counter()
    opened = concluded = 0
    try:
        with transaction.atomic():
            try:
                possible_backfill(actor="cli:bench", batch_size=batch_size, progress=progress)
            except _RollBack:
                pass
            seconds = time.perf_counter() - started
            opened = Case.objects.filter(possible="open").count()
            concluded = Case.objects.filter(possible="concluded").count()
            raise _RollBack
    except _RollBack:
        pass
    return examined / seconds, opened, concluded


def arrivals(count: int, years: int, explain: bool) -> tuple[list[float], list[float], list[int]]:
    """(ms per submission, ms of the screening join, statements per submission), each rolled back."""
    rng = random.Random(19)
    identity = squeezed(years)
    whole: list[float] = []
    join: list[float] = []
    statements: list[int] = []
    for n in range(count):
        document = demo.synthetic_application(rng, 9_000_000 + n)
        document["identity"] = identity(rng, 9_000_000 + n, document["legion"])
        document["external_ref"] = f"bench-arrival-{n}"
        application = validate_application(document)
        try:
            with transaction.atomic():
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    case = application_submit(application=application, channel=Channel.IMPORT).case
                    whole.append((time.perf_counter() - started) * 1000)
                statements.append(len(captured.captured_queries))
                started = time.perf_counter()
                services.screening_candidates_many([case.person_id])
                join.append((time.perf_counter() - started) * 1000)
                if explain and n == 0 and connection.vendor == "postgresql" and services._agreeing_with is BOUNDED:
                    sql, params = services.agreeing_query([case.person_id])
                    with connection.cursor() as cursor:
                        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                        print("\n".join(row[0] for row in cursor.fetchall()))
                raise _RollBack
        except _RollBack:
            pass
    return whole, join, statements


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--birth-years", type=int, default=2)
    parser.add_argument("--cases", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--arrivals", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    if min(args.people, args.birth_years, args.cases, args.batch_size, args.arrivals, args.repeats) < 1:
        parser.error("every count must be at least 1")
    setup_test_environment()
    setup_databases(verbosity=0, interactive=False, keepdb=True, serialized_aliases=set())
    from legionary.audit.services import signing_key_init

    services.keyring_init()
    signing_key_init()
    scale.synthetic_identity = squeezed(args.birth_years)  # type: ignore[assignment]
    report = scale.fill(args.people, progress_to=sys.stderr if os.isatty(2) else None)
    if connection.vendor == "postgresql":
        # What autovacuum does to a kept database after a bulk load: statistics, and the visibility
        # map that lets an index-only scan (the crowd check) skip the table.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(
        f"{connection.vendor}: {report.people} people ({report.added} added in {report.seconds:.0f} s), "
        f"birth dates in {args.birth_years} years; {BlindIndex.objects.count()} blind-index rows; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(BlindIndex._meta.db_table)
        cursor.execute(
            f"SELECT COUNT(*), SUM(n), MAX(n) FROM (SELECT COUNT(*) AS n FROM {table} "  # noqa: S608
            f"GROUP BY name, key_version, value HAVING COUNT(*) > %s) crowds",
            [matching.MAX_BUCKET],
        )
        crowds, rows, largest = cursor.fetchone()
    print(f"tokens held by more than {matching.MAX_BUCKET} people: {crowds} ({rows or 0} rows, largest {largest or 0})")

    first = list(Case.objects.filter(possible="").order_by("created_at", "pk").values_list("person_id", flat=True))
    first = first[: args.batch_size]
    results = []
    for join in JOINS.values():
        with using(join):
            results.append(services.screening_candidates_many(first))
    if results[0] != results[1]:
        print("the two joins disagree on the first batch: stopping", file=sys.stderr)
        return 1
    print(
        f"same candidates from both joins for the first {len(first)} cases: "
        f"{len(results[0][0])} with a match, {len(results[0][1])} with a possible pair"
    )

    rates: dict[str, list[float]] = {name: [] for name in JOINS}
    costs: dict[str, tuple[list[float], list[float], list[int]]] = {name: ([], [], []) for name in JOINS}
    for repeat in range(args.repeats):
        for name, join in JOINS.items():
            with using(join):
                rate, opened, concluded = backfill_rate(args.cases, args.batch_size)
                whole, alone, statements = arrivals(args.arrivals, args.birth_years, args.explain and repeat == 0)
            rates[name].append(rate)
            for kept, new in zip(costs[name], (whole, alone, statements), strict=True):
                kept.extend(new)  # type: ignore[arg-type]
            print(
                f"  {name}, run {repeat + 1}: backfill {rate:.0f} cases/s (would mark {opened} open, "
                f"{concluded} concluded); arrival p50 {statistics.median(whole):.1f} ms, join "
                f"{statistics.median(alone):.1f} ms; load {os.getloadavg()[0]:.1f}"
            )
    print(f"\n{'join':<20} {'backfill cases/s':>17} {'statements':>11} {'arrival p50 ms':>15} {'join p50 ms':>12}")
    for name in JOINS:
        whole, alone, statements = costs[name]
        print(
            f"{name:<20} {statistics.median(rates[name]):>17.0f} {statistics.median(statements):>11.0f} "
            f"{statistics.median(whole):>15.1f} {statistics.median(alone):>12.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
