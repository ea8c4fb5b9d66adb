"""Benchmark of the audit log through the real Django service (a script: it prints, never asserts speed).

Measures, on SQLite (and on PostgreSQL when DATABASE_URL is set):

* append throughput at 10k and 100k entries (1M with ``--big``), each append its own transaction
  as in production: the time per 1000 appends in the first and the last window, and node reads
  and writes per append, to show the cost does not grow with the size of the log;
* verification throughput of ``audit_verify`` in entries/s (goal: at least 200k entries/s);
* the time of one inclusion proof (``entry_inclusion``, verified against the signed checkpoint)
  at the largest size;
* the same recorded actions through django-auditlog's ``LogEntry.objects.log_create`` in the same
  run, as a baseline for what a plain (not tamper-evident) audit table costs.

Run: ``PYTHONPATH=.:src .venv/bin/python bench/bench_audit.py [--big] [--quick]`` (needs the
``bench`` extra: ``pip install -e '.[bench]'``). Uses a throwaway LEGIONARY_HOME.
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

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from legionary.audit import services  # noqa: E402
from legionary.audit.models import Checkpoint, Entry, LogHead, Node  # noqa: E402
from legionary.audit.verification import audit_verify  # noqa: E402

WINDOW = 1000
COUNTS = {"reads": 0, "writes": 0}


def _count_node_io() -> None:
    """Counts node reads and writes of every append (instrumentation for this script only)."""
    original_get, original_put = services.DbNodeStore.get_many, services.DbNodeStore.put_many

    def get_many(self: services.DbNodeStore, keys: Any) -> Any:
        COUNTS["reads"] += len(keys)
        return original_get(self, keys)

    def put_many(self: services.DbNodeStore, nodes: Any) -> None:
        COUNTS["writes"] += len(nodes)
        original_put(self, nodes)

    services.DbNodeStore.get_many = get_many  # type: ignore[method-assign]
    services.DbNodeStore.put_many = put_many  # type: ignore[method-assign]


def _reset() -> None:
    with transaction.atomic():
        for model in (Entry, Node, Checkpoint, LogHead):
            model.objects.all().delete()


def record(n: int) -> None:
    services.audit_record(
        actor=f"officer-{n % 40}",
        action=("identity.unsealed", "case.decided", "login.success")[n % 3],
        subject=f"P-{n * 7919 % 1_000_003:07d}",
        details={"reason": "periodic case review", "case": n % 5000},
    )


def appends(total: int) -> dict[str, float]:
    """Appends ``total`` entries to an empty log; per-window times at the start and the end."""
    _reset()
    windows: list[float] = []
    io_start: tuple[int, int] = (0, 0)
    io_end: tuple[int, int] = (0, 0)
    started = time.perf_counter()
    for base in range(0, total, WINDOW):
        if base == WINDOW:
            io_start = (COUNTS["reads"], COUNTS["writes"])
        if base == total - WINDOW:
            io_end = (COUNTS["reads"], COUNTS["writes"])
        t0 = time.perf_counter()
        for n in range(base, base + WINDOW):
            record(n)
        windows.append(time.perf_counter() - t0)
        if base + WINDOW == 2 * WINDOW:
            io_start = (COUNTS["reads"] - io_start[0], COUNTS["writes"] - io_start[1])
    io_end = (COUNTS["reads"] - io_end[0], COUNTS["writes"] - io_end[1])
    elapsed = time.perf_counter() - started
    # Median of the first and last three windows: one slow window (a WAL checkpoint) is noise.
    first = statistics.median(windows[1:4]) if len(windows) > 4 else windows[0]
    last = statistics.median(windows[-3:])
    return {
        "total": total,
        "per_s": total / elapsed,
        "first_ms": first * 1000,
        "last_ms": last * 1000,
        "reads_first": io_start[0] / WINDOW,
        "writes_first": io_start[1] / WINDOW,
        "reads_last": io_end[0] / WINDOW,
        "writes_last": io_end[1] / WINDOW,
    }


def verify_rate() -> tuple[float, int]:
    best = float("inf")
    entries = 0
    for _ in range(3):
        t0 = time.perf_counter()
        result = audit_verify()
        best = min(best, time.perf_counter() - t0)
        assert result.ok, result.problems[:3]
        entries = result.entries
    return entries / best, entries


def proof_time(size: int, samples: int = 200) -> float:
    services.checkpoint_now()
    rng = random.Random(7)
    t0 = time.perf_counter()
    for _ in range(samples):
        evidence = services.entry_inclusion(rng.randrange(size))
        assert evidence.verified
    return (time.perf_counter() - t0) / samples


def auditlog_side_by_side(total: int) -> tuple[float, float]:
    """Mean µs per recorded action: ours, then django-auditlog's, alternating blocks in one run."""
    from auditlog.models import LogEntry

    from legionary.access.models import Staff

    staff = Staff.objects.create_user(username=f"bench-{time.monotonic_ns()}", password=None)

    def theirs(n: int) -> None:
        with transaction.atomic():
            LogEntry.objects.log_create(
                staff,
                force_log=True,
                action=LogEntry.Action.ACCESS,
                changes={"reason": ["", "periodic case review"]},
                additional_data={"case": n % 5000, "subject": f"P-{n:07d}"},
            )

    ours_t, theirs_t = 0.0, 0.0
    block = 500
    for base in range(0, total, block):
        ours_t += _timed(record, base, block)
        theirs_t += _timed(theirs, base, block)
    return ours_t / total * 1e6, theirs_t / total * 1e6


def _timed(work: Callable[[int], None], base: int, count: int) -> float:
    t0 = time.perf_counter()
    for n in range(base, base + count):
        work(n)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", action="store_true", help="also append 1M entries (slow)")
    parser.add_argument("--quick", action="store_true", help="10k only")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    services.signing_key_init()
    _count_node_io()
    sizes = [10_000] if args.quick else [10_000, 100_000]
    if args.big:
        sizes.append(1_000_000)
    print(f"database: {connection.vendor}; checkpoint every {services.settings.LEGIONARY_CHECKPOINT_EVERY_ENTRIES}")
    print()
    header = f"{'entries':>9} {'appends/s':>10} {'ms/1000 first':>14} {'ms/1000 last':>13} {'last/first':>10}"
    header += f" {'node r/w per append (first)':>28} {'(last)':>12} {'verify entries/s':>17}"
    print(header)
    largest = 0
    for size in sizes:
        a = appends(size)
        rate, entries = verify_rate()
        largest = entries
        print(
            f"{size:>9} {a['per_s']:>10.0f} {a['first_ms']:>14.1f} {a['last_ms']:>13.1f} "
            f"{a['last_ms'] / a['first_ms']:>10.2f} {a['reads_first']:>13.2f} / {a['writes_first']:<12.2f}"
            f" {a['reads_last']:>5.2f} / {a['writes_last']:<5.2f} {rate:>17,.0f}"
        )
    print()
    print(f"inclusion proof (entry_inclusion, verified) at {largest} entries: {proof_time(largest) * 1e3:.2f} ms")
    ours, theirs = auditlog_side_by_side(5_000 if args.quick else 20_000)
    print()
    print(f"{'recording one action':<40} {'µs':>8} {'ratio':>6}")
    print(f"{'django-auditlog LogEntry.log_create':<40} {theirs:>8.0f} {1.0:>6.2f}")
    print(f"{'legionary audit_record (Merkle + nodes)':<40} {ours:>8.0f} {ours / theirs:>6.2f}")


if __name__ == "__main__":
    main()
