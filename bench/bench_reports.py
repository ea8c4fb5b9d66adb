"""Benchmark of the reports dashboard: render time and SQL queries per render, live and from the rollup.

Builds a throwaway database (the test settings: a fresh LEGIONARY_HOME, SQLite unless
DATABASE_URL says otherwise) and grows it in steps up to each size with the scale fixture
(``legionary.core.scale.fill``, the same as ``legionary demo --people N``): people with sealed
identities and blind indexes made by the identity service, spread over legions, the last ~18
months and every stage of the pipeline, their vetting cases and checks (some overdue), findings
on denied cases, screening flags on re-applications, enrolments in the basic course's cohorts,
assignments to billets in a unit tree, and about one audit entry per person. The fill is timed
and reported (people per second) but is not what is measured.

Then, per size, renders ``/reports/`` through the Django test client, signed in once as an intake
officer (small numbers hidden) and once as a security officer (exact), both system-wide:

1. **live**: with no rollup in the database (the figures counted from the records);
2. **refresh**: ``reports.rollup.refresh`` (what ``legionary report refresh`` runs), timed, with the
   rows it wrote;
3. **rollup**: the same pages read from the rollup, plus the protected viewer with a period of
   partial months (``?since=...-10&until=...-20``, read from day rows at both ends).

Prints per size and path: people, viewer, queries per render, the median and best render time,
CPU per render and the page size. The query count of each path must not grow with the number of
people; the script says whether it did. Figures only: no timing is asserted.

Run: ``PYTHONPATH=src:. .venv/bin/python bench/bench_reports.py [--sizes 10000,100000] [--renders N]``
(``--live-renders N`` for fewer live renders, which take long at 1M)
(a million people, resumable: ``LEGIONARY_HOME=/some/dir ... bench_reports.py --sizes 1000000 --keep --progress``;
on a kept database the previous rollups are removed before the live renders, and the new one is left)
(PostgreSQL: ``.venv/bin/python -m tests.pgserver -- env PYTHONPATH=src:. .venv/bin/python bench/bench_reports.py``)
"""

from __future__ import annotations

# ruff: noqa: E402 — Django must be set up before the models and services are imported
import argparse
import cProfile
import datetime
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.db import connection
from django.test.utils import CaptureQueriesContext, setup_databases, setup_test_environment, teardown_databases
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from legionary.access.models import RoleGrant, Staff
from legionary.access.roles import Role, ScopeKind
from legionary.core.scale import fill
from legionary.reports import rollup
from legionary.reports.models import Rollup
from legionary.units.models import Billet
from tests.conftest import signed_in


def _staff(username: str, role: str) -> Staff:
    found = Staff.objects.filter(username=username).first()  # --keep: made by an earlier run
    if found is not None:
        return found
    staff = Staff.objects.create_user(username=username, password=None)  # signed in by session, never by password
    RoleGrant.objects.create(staff=staff, role=role, scope_kind=ScopeKind.SYSTEM, scope_ref="")
    TOTPDevice.objects.create(user=staff, name="authenticator", confirmed=True)
    return staff


def _database_size() -> str:
    """The database's size on disk (SQLite: the file and its WAL; PostgreSQL: pg_database_size)."""
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        total = sum(Path(name + suffix).stat().st_size for suffix in ("", "-wal") if Path(name + suffix).exists())
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            total = int(cursor.fetchone()[0])
    return f"{total / 2**20:.0f} MiB"


def _measure(staff: Staff, renders: int, url: str = "/reports/") -> tuple[int, list[float], list[float], int, str]:
    """Queries per render, wall and CPU seconds of each timed render, the page's size and its source note.

    CPU seconds are this process's: with SQLite they hold the database's work too, and they barely
    change when other work shares the machine; with PostgreSQL the server's work is not in them."""
    client = signed_in(staff)
    response = client.get(url, secure=True)
    assert response.status_code == 200
    with CaptureQueriesContext(connection) as captured:
        client.get(url, secure=True)
    # Counted now: the next request resets the connection's query log the capture reads from.
    queries = len(captured)
    times, cpu = [], []
    for _ in range(renders):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url, secure=True)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    page = response.content.decode()
    source = "rollup" if "Figures as of" in page else "live"
    return queries, times, cpu, len(response.content), source


def _partial_months() -> str:
    """A period of partial months around whole ones, ending last month: day rows at both ends."""
    today = timezone.now().date()
    last_month = today.replace(day=1) - datetime.timedelta(days=1)
    until = last_month.replace(day=20)
    since = (until.replace(day=1) - datetime.timedelta(days=70)).replace(day=10)
    return f"/reports/?since={since.isoformat()}&until={until.isoformat()}"


def _remove_rollups() -> None:
    """Empties the rollup tables (only those), so that the live renders are live."""
    for model in (*rollup.ROW_MODELS, Rollup):
        model.objects.all().delete()  # type: ignore[attr-defined]


def _row(size: int, path: str, name: str, measured: tuple[int, list[float], list[float], int, str], note: str) -> None:
    queries, times, cpu, length, source = measured
    assert source == path, f"{name}: expected the {path} path, the page says {source}"
    print(
        f"{size:>8} {path:>7} {name:>9} {queries:>8} {1000 * statistics.median(times):>10.0f} "
        f"{1000 * min(times):>8.0f} {1000 * statistics.median(cpu):>7.0f} {length / 1024:>5.0f}  {note}",
        flush=True,
    )


def _profile(staff: Staff, renders: int, url: str = "/reports/") -> None:
    """Where a rollup render's time goes: cProfile over ``renders`` renders (after a warm one), the
    functions by cumulative and by own time, then every SQL statement of one render with its time."""
    client = signed_in(staff)
    client.get(url, secure=True)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(renders):
        client.get(url, secure=True)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats("legionary/", 25)  # our own code: which part of the page
    print(f"--- profile of {renders} renders of {url}\n{out.getvalue()}", flush=True)
    seen: list[tuple[float, str]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seen.append((time.perf_counter() - started, sql))

    with connection.execute_wrapper(record):
        started = time.perf_counter()
        client.get(url, secure=True)
        total = time.perf_counter() - started
    print(
        f"--- one render: {1000 * total:.1f} ms, {len(seen)} statements, {1000 * sum(t for t, _ in seen):.1f} ms in SQL"
    )
    for took, sql in seen:
        print(f"{1000 * took:8.2f} ms  {sql if len(sql) <= 160 else sql[:100] + ' … ' + sql[-55:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="people at each measurement (default 10000,100000)")
    parser.add_argument("--renders", type=int, default=5, help="timed renders per viewer and size (default 5)")
    parser.add_argument(
        "--live-renders", type=int, default=None, help="timed live renders (default: as --renders; 1 at 1M is enough)"
    )
    parser.add_argument("--progress", action="store_true", help="draw the fill's progress bar on stderr")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the database (and reuse one kept before): with LEGIONARY_HOME set, an interrupted "
        "fill carries on where it stopped",
    )
    parser.add_argument(
        "--skip-live", action="store_true", help="leave out the live renders (the rollup's refresh and renders only)"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="at the last size, profile N rollup renders of the protected viewer: the functions that take "
        "the time, and each SQL statement's time",
    )
    args = parser.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        parser.error("--sizes takes whole numbers separated by commas, e.g. 10000,100000")
    if not sizes or any(size < 1 for size in sizes) or sizes != sorted(sizes):
        parser.error("--sizes takes increasing positive numbers, e.g. 10000,100000")
    if args.renders < 1 or (args.live_renders is not None and args.live_renders < 1):
        parser.error("--renders and --live-renders take a positive number")
    live_renders = args.live_renders or args.renders

    from legionary.audit.services import signing_key_init
    from legionary.identity.services import keyring_init

    setup_test_environment()
    # serialized_aliases=set(): a kept database is not read whole into memory (TransactionTestCase's copy).
    old_config = setup_databases(verbosity=0, interactive=False, keepdb=args.keep, serialized_aliases=set())
    try:
        keyring_init()
        signing_key_init()
        viewers = {
            "protected": _staff("bench-intake", Role.INTAKE_OFFICER),
            "exact": _staff("bench-security", Role.SECURITY_OFFICER),
        }
        print(f"database: {connection.vendor}; fill: core.scale.fill (sealed identities, blind indexes, audit entries)")
        print(
            f"{'people':>8} {'path':>7} {'viewer':>9} {'queries':>8} {'median ms':>10} {'best ms':>8} {'CPU ms':>7} "
            f"{'KiB':>5}  (fill: s, people/s, people per CPU-second, audit entries, billets, database)"
        )
        counts: dict[str, dict[int, set[int]]] = {"live": {}, "rollup": {}}
        for size in sizes:
            report = fill(size, progress_to=sys.stderr if args.progress else None)
            per_cpu = report.added / report.cpu_seconds if report.cpu_seconds else 0.0
            figures = (
                f"({report.seconds:.0f} s, {report.people_per_second:.0f}/s, {per_cpu:.0f}/CPU-s, "
                f"+{report.audit_entries} entries, {Billet.objects.count()} billets, {_database_size()})"
            )
            _remove_rollups()
            counts["live"][size] = set()
            for name, staff in viewers.items() if not args.skip_live else ():
                measured = _measure(staff, live_renders)
                counts["live"][size].add(measured[0])
                _row(size, "live", name, measured, figures)
            if args.skip_live:
                print(f"{size:>8} (live renders left out) {figures}", flush=True)
            started, cpu_started = time.perf_counter(), time.process_time()
            done = rollup.refresh()
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            print(
                f"{size:>8} refresh: {wall:.1f} s wall, {cpu:.1f} s CPU (this process), {done.rows} rows "
                f"({done.batches} months), database {_database_size()}",
                flush=True,
            )
            counts["rollup"][size] = set()
            for name, staff in viewers.items():
                measured = _measure(staff, args.renders)
                counts["rollup"][size].add(measured[0])
                _row(size, "rollup", name, measured, "")
            measured = _measure(viewers["protected"], args.renders, _partial_months())
            counts["rollup"][size].add(measured[0])
            _row(size, "rollup", "period", measured, _partial_months())
        if args.profile:
            _profile(viewers["protected"], args.profile)
        flat = True
        for path, by_size in counts.items():
            first, last = by_size[sizes[0]], by_size[sizes[-1]]
            verdict = "constant" if first == last else f"GREW from {sorted(first)} to {sorted(last)}"
            flat = flat and first == last
            print(f"queries per render ({path}), {sizes[0]} vs {sizes[-1]} people: {verdict}")
        return 0 if flat else 1
    finally:
        if not args.keep:
            teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
