"""Benchmark of the audit log through the real Django service (a script: it prints, never asserts speed).

Measures, on SQLite (and on PostgreSQL when DATABASE_URL is set, e.g. under ``tests.pgserver``):

* the cost of one append at each log size (10k, 100k; 1M with ``--big``; 10M with ``--huge``):
  the log is grown to each size through the real batch writer ``audit_record_many`` (batches of
  1000, so a checkpoint every 1000 entries as in production; the fill rate is printed), then a
  fixed number of single appends, each its own transaction as in production, is timed there,
  with node reads and writes per append. Windows of django-auditlog's ``log_create`` alternate
  with ours at every size, so the ratio ours/auditlog shows the trend even when the machine's
  load drifts between sizes. Goal: the cost does not grow with the size of the log;
* verification throughput of ``audit_verify`` in entries/s at each size (goal: >= 200k entries/s);
* the time of one inclusion proof (``entry_inclusion``, verified against the signed checkpoint)
  at the largest size;
* recording the same actions with django-auditlog in the same run: one action per transaction,
  and a batch of 100 actions per transaction (ours: ``audit_record_many``; auditlog has no batch
  API, so 100 ``log_create`` calls in one transaction, and a plain ``bulk_create`` of 100
  ``LogEntry`` rows as the floor of what any audit table costs).

Run: ``PYTHONPATH=.:src .venv/bin/python bench/bench_audit.py [--quick | --big | --huge]``, or
``--sizes 10000,1000000`` (needs the ``bench`` extra: ``pip install -e '.[bench]'``). Uses a
throwaway LEGIONARY_HOME (tests.settings). PostgreSQL:
``.venv/bin/python -m tests.pgserver -- .venv/bin/python bench/bench_audit.py --big``.

A 10M log takes long to fill, so ``--keep`` reuses one: with ``LEGIONARY_HOME`` set to a kept
directory (it holds the SQLite file and the signing key; on PostgreSQL, ``DATABASE_URL`` naming a
server that outlives the run), the log found there is grown to each size instead of refused.
``--verify-only`` skips the appends and the side-by-side (they grow the log by ~16k entries per
run) and times ``audit_verify`` alone, next to the raw fetch rate of the same rows through one
connection (the database and the driver, nothing hashed or checked): on PostgreSQL, where one
reader feeds the verification, the ceiling it cannot pass; on SQLite, where worker processes
read ranges in parallel, a reference.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_auditlog")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from legionary.audit import services  # noqa: E402
from legionary.audit.models import LogHead  # noqa: E402
from legionary.audit.verification import audit_verify  # noqa: E402

FILL_BATCH = 1000
WINDOW = 500
WINDOWS = 3
COUNTS = {"reads": 0, "writes": 0}


def _count_node_io() -> None:
    """Counts node reads and writes of every append (instrumentation for this script only)."""
    original_get, original_put = services.DbNodeStore.get_many, services.DbNodeStore.put_many

    def get_many(self: services.DbNodeStore, keys: Any) -> Any:
        COUNTS["reads"] += len(keys)
        return original_get(self, keys)

    def put_many(self: services.DbNodeStore, nodes: Any, also: Any = ()) -> None:
        COUNTS["writes"] += len(nodes)
        original_put(self, nodes, also)

    services.DbNodeStore.get_many = get_many  # type: ignore[method-assign]
    services.DbNodeStore.put_many = put_many  # type: ignore[method-assign]


def item(n: int) -> services.AuditItem:
    return services.AuditItem(
        actor=f"officer-{n % 40}",
        action=("identity.unsealed", "case.decided", "login.success")[n % 3],
        subject=f"P-{n * 7919 % 1_000_003:07d}",
        details={"reason": "periodic case review", "case": n % 5000},
    )


def record(n: int) -> None:
    one = item(n)
    services.audit_record(actor=one.actor, action=one.action, subject=one.subject, details=one.details)


def log_size() -> int:
    return LogHead.objects.filter(id=1).values_list("size", flat=True).first() or 0


def fill(to: int) -> tuple[int, float]:
    """Grows the log to ``to`` entries through ``audit_record_many``; (entries added, seconds)."""
    have = start = log_size()
    t0 = time.perf_counter()
    while have < to:
        count = min(FILL_BATCH, to - have)
        services.audit_record_many([item(have + k) for k in range(count)])
        have += count
    return have - start, time.perf_counter() - t0


class Auditlog:
    """django-auditlog recording the same actions, against one staff account."""

    def __init__(self) -> None:
        from auditlog.models import LogEntry  # type: ignore[import-untyped]

        from legionary.access.models import Staff

        self.LogEntry = LogEntry
        self.staff = Staff.objects.create_user(username=f"bench-{time.monotonic_ns()}", password=None)

    def _entry(self, n: int, *, build: bool = False) -> Any:
        kwargs = {
            "action": self.LogEntry.Action.ACCESS,
            "changes": {"reason": ["", "periodic case review"]},
            "additional_data": {"case": n % 5000, "subject": f"P-{n * 7919 % 1_000_003:07d}"},
        }
        if build:
            from django.contrib.contenttypes.models import ContentType

            return self.LogEntry(
                content_type=ContentType.objects.get_for_model(self.staff),
                object_pk=str(self.staff.pk),
                object_id=self.staff.pk,
                object_repr=str(self.staff),
                **kwargs,
            )
        return self.LogEntry.objects.log_create(self.staff, force_log=True, **kwargs)

    def record(self, n: int) -> None:
        with transaction.atomic():
            self._entry(n)

    def record_batch(self, n: int, size: int) -> None:
        with transaction.atomic():
            for k in range(size):
                self._entry(n + k)

    def bulk_batch(self, n: int, size: int) -> None:
        with transaction.atomic():
            self.LogEntry.objects.bulk_create([self._entry(n + k, build=True) for k in range(size)])


def _timed(work: Callable[[int], object], base: int, count: int) -> float:
    t0 = time.perf_counter()
    for n in range(base, base + count):
        work(n)
    return time.perf_counter() - t0


def appends_at_size(theirs: Auditlog) -> dict[str, float]:
    """Median µs per single append (ours, auditlog) over alternating windows, node r/w per append."""
    ours_t, theirs_t = [], []
    reads, writes = COUNTS["reads"], COUNTS["writes"]
    base = log_size()
    for w in range(WINDOWS):
        ours_t.append(_timed(record, base + w * WINDOW, WINDOW) / WINDOW * 1e6)
        theirs_t.append(_timed(theirs.record, base + w * WINDOW, WINDOW) / WINDOW * 1e6)
    appended = WINDOWS * WINDOW
    return {
        "ours_us": statistics.median(ours_t),
        "theirs_us": statistics.median(theirs_t),
        "reads": (COUNTS["reads"] - reads) / appended,
        "writes": (COUNTS["writes"] - writes) / appended,
    }


def verify_rate(repeats: int) -> tuple[float, int]:
    best = float("inf")
    entries = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = audit_verify()
        best = min(best, time.perf_counter() - t0)
        assert result.ok, result.problems[:3]
        entries = result.entries
    return entries / best, entries


def fetch_floor() -> float:
    """Entries/s of reading the rows ``audit_verify`` reads, as its sequential pass reads them
    (one connection), doing nothing with them: what the database and the driver alone allow."""
    from legionary.audit import verification

    t0 = time.perf_counter()
    with verification._read_snapshot():
        rows = sum(len(batch) for batch in verification._batches(verification._entry_sql()))
    return rows / (time.perf_counter() - t0)


def proof_time(size: int, samples: int = 200) -> float:
    services.checkpoint_now()
    rng = random.Random(7)
    t0 = time.perf_counter()
    for _ in range(samples):
        evidence = services.entry_inclusion(rng.randrange(size))
        assert evidence.verified
    return (time.perf_counter() - t0) / samples


def side_by_side(theirs: Auditlog, total: int, batch: int = 100) -> None:
    """µs per recorded action, ours and django-auditlog's, alternating blocks in one run."""
    block = 500
    rows: dict[str, float] = dict.fromkeys(["ours1", "theirs1", "oursB", "theirsB", "bulkB"], 0.0)
    for base in range(0, total, block):
        rows["ours1"] += _timed(record, base, block)
        rows["theirs1"] += _timed(theirs.record, base, block)
        rows["oursB"] += _timed(
            lambda n: services.audit_record_many([item(n * batch + k) for k in range(batch)]), base, block // batch
        )
        rows["theirsB"] += _timed(lambda n: theirs.record_batch(n * batch, batch), base, block // batch)
        rows["bulkB"] += _timed(lambda n: theirs.bulk_batch(n * batch, batch), base, block // batch)
    us = {key: value / total * 1e6 for key, value in rows.items()}
    print(f"\n{'recording actions (same run, alternating blocks)':<60} {'µs/action':>10} {'ours/theirs':>12}")
    print(f"{'one action per transaction: django-auditlog log_create':<60} {us['theirs1']:>10.0f} {'':>12}")
    print(f"{'one action per transaction: legionary audit_record':<60} {us['ours1']:>10.0f} "
          f"{us['ours1'] / us['theirs1']:>12.2f}")  # fmt: skip
    print(f"{f'{batch} per transaction: django-auditlog, {batch} log_create':<60} {us['theirsB']:>10.0f} {'':>12}")
    print(f"{f'{batch} per transaction: LogEntry bulk_create (floor)':<60} {us['bulkB']:>10.0f} {'':>12}")
    print(f"{f'{batch} per transaction: legionary audit_record_many':<60} {us['oursB']:>10.0f} "
          f"{us['oursB'] / us['theirsB']:>12.2f}  ({us['oursB'] / us['bulkB']:.2f} vs bulk_create)")  # fmt: skip


def verify_only(sizes: list[int], repeats: int | None) -> None:
    print(f"database: {connection.vendor}; checkpoint every {settings.LEGIONARY_CHECKPOINT_EVERY_ENTRIES}")
    print(f"\n{'log size':>10} {'fill entries/s':>15} {'verify entries/s':>17} {'raw fetch entries/s':>20}", flush=True)
    for size in sizes:
        added, seconds = fill(size)
        rate, entries = verify_rate(repeats or (1 if size >= 5_000_000 else 3))
        floor = fetch_floor()
        print(f"{entries:>10,} {added / seconds if added else 0:>15,.0f} {rate:>17,.0f} {floor:>20,.0f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k only, shorter side-by-side")
    parser.add_argument("--big", action="store_true", help="sizes 10k, 100k and 1M")
    parser.add_argument("--huge", action="store_true", help="sizes 10k, 1M and 10M (10M: long; the ETA is printed)")
    parser.add_argument("--sizes", help="comma-separated log sizes, e.g. 10000,1000000")
    parser.add_argument("--keep", action="store_true", help="reuse the log kept in LEGIONARY_HOME / DATABASE_URL")
    parser.add_argument("--verify-only", action="store_true", help="fill, then time audit_verify and the raw fetch")
    parser.add_argument("--repeats", type=int, help="verifications per size, best taken (default 3; 1 from 5M)")
    args = parser.parse_args()
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    elif args.quick:
        sizes = [10_000]
    elif args.huge:
        sizes = [10_000, 1_000_000, 10_000_000]
    elif args.big:
        sizes = [10_000, 100_000, 1_000_000]
    else:
        sizes = [10_000, 100_000]
    call_command("migrate", verbosity=0)
    services.signing_key_init()
    if log_size() and not args.keep:
        raise SystemExit("the audit log is not empty: run against a throwaway LEGIONARY_HOME / database, or --keep")
    if args.verify_only:
        verify_only(sizes, args.repeats)
        return
    _count_node_io()
    theirs = Auditlog()
    print(f"database: {connection.vendor}; checkpoint every {settings.LEGIONARY_CHECKPOINT_EVERY_ENTRIES}")
    header = f"\n{'log size':>10} {'fill entries/s':>15} {'µs/append':>10} {'auditlog µs':>12} {'ours/theirs':>12}"
    header += f" {'node r/w per append':>20} {'verify entries/s':>17}"
    print(header, flush=True)
    largest = 0
    first_us = None
    for size in sizes:
        remaining = max(0, size - log_size())
        if remaining > 2_000_000:
            _, probe = fill(log_size() + 20_000)
            print(
                f"   (filling {remaining:,} more entries: about {probe / 20_000 * remaining / 60:.0f} min)", flush=True
            )
        added, seconds = fill(size)
        a = appends_at_size(theirs)
        rate, entries = verify_rate(args.repeats or (1 if size >= 5_000_000 else 3))
        largest = entries
        first_us = first_us or a["ours_us"]
        print(
            f"{entries:>10,} {added / seconds if added else 0:>15,.0f} {a['ours_us']:>10.0f} {a['theirs_us']:>12.0f} "
            f"{a['ours_us'] / a['theirs_us']:>12.2f} {a['reads']:>9.2f} / {a['writes']:<8.2f} {rate:>17,.0f}",
            flush=True,
        )
        if size == sizes[0]:
            side_by_side(theirs, 2_000 if args.quick else 5_000)
            print(header, flush=True)
    print(f"\n(µs/append at the largest size / at the smallest: see the rows above; first row {first_us:.0f} µs)")
    print(f"inclusion proof (entry_inclusion, verified) at {largest:,} entries: {proof_time(largest) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
