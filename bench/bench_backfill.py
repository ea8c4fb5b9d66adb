"""Benchmark of ``legionary duplicates backfill-possible`` (``vetting.services.possible_backfill``):
cases examined per second and per CPU-second, on a kept database, changing nothing.

The backfill runs on the unmarked cases in arrival order inside one outer transaction, batch after
batch exactly as the verb runs them, until ``--cases`` cases are examined; then the transaction is
rolled back, so a shared database is left as it was (nothing marked, no audit entry kept). While it
runs it holds the audit log's head row, as the verb does batch by batch: other audited writes wait.
Prints the cases examined, the marks it would have made, the seconds and the rates, and what a
whole run over every unmarked case would take at that rate.

Run (a kept PostgreSQL database, bench/README.md): ``DATABASE_URL=... LEGIONARY_HOME=... PYTHONPATH=src:.
.venv/bin/python bench/bench_backfill.py --cases 50000 [--batch-size 1000]``
"""

from __future__ import annotations

# ruff: noqa: E402 — Django must be set up before the models and services are imported
import argparse
import os
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.db import transaction
from django.test.utils import setup_databases, setup_test_environment

from legionary.vetting.models import Case
from legionary.vetting.services import PossibleBackfill, possible_backfill


class _Enough(Exception):
    """Raised from the progress callback once enough cases are examined: ends the run, rolls back."""


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000, help="cases to examine before stopping (default 50000)")
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    if args.cases < 1 or args.batch_size < 1:
        parser.error("--cases and --batch-size must be at least 1")
    setup_test_environment()
    setup_databases(verbosity=0, interactive=False, keepdb=True, serialized_aliases=set())
    from legionary.audit.services import signing_key_init
    from legionary.identity.services import keyring_init

    keyring_init()  # (both idempotent: a kept home's keys are kept)
    signing_key_init()
    unmarked = Case.objects.filter(possible="").count()
    examined = 0

    def progress(n: int) -> None:
        nonlocal examined
        examined += n
        if examined >= args.cases:
            raise _Enough

    marks: dict[str, int] = {}

    def count_marks() -> None:
        marks["open"] = Case.objects.filter(possible="open").count()
        marks["concluded"] = Case.objects.filter(possible="concluded").count()

    count_marks()
    before = dict(marks)
    started, cpu = time.perf_counter(), time.process_time()
    done: PossibleBackfill | None = None
    try:
        with transaction.atomic():
            try:
                done = possible_backfill(actor="cli:bench", batch_size=args.batch_size, progress=progress)
            except _Enough:
                pass
            seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
            count_marks()
            raise _Enough  # roll back: the database stays as it was
    except _Enough:
        pass
    opened = marks["open"] - before["open"]
    concluded = marks["concluded"] - before["concluded"]
    rate = examined / seconds if seconds else float("nan")
    print(
        f"unmarked cases at the start: {unmarked}; examined {examined} in batches of {args.batch_size}"
        f"{' (all of them)' if done is not None else ''}: would mark {opened} open, {concluded} concluded"
    )
    print(
        f"{seconds:.1f} s wall, {cpu_seconds:.1f} s CPU of this process: {rate:.0f} cases/s,"
        f" {examined / cpu_seconds if cpu_seconds else float('nan'):.0f} per CPU-second;"
        f" every unmarked case at this rate: {unmarked / rate / 60 if rate else float('nan'):.1f} min (rolled back)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
