"""Scale of screening: ``duplicates`` (both tiers) and a full re-screen after loading a 10,000-entry
designation list, at growing numbers of people; seconds, rows and the process's peak memory.

Builds a throwaway database (the test settings: a fresh LEGIONARY_HOME, SQLite unless DATABASE_URL
says otherwise) and grows it with the scale fixture (``core.scale.fill``) to each size in turn. At
each size it measures, in this process:

- ``duplicates``: ``identity.services.duplicate_screen`` (one self-join of the index table, read in
  order; what ``legionary duplicates --json`` runs), its groups and possible pairs;
- ``list load``: ``vetting.screening.screening_list_load`` of a synthetic FollowTheMoney list of
  ``--entries`` people (invented names, and one in a hundred from the demo's pools, written the
  ways lists write them: full, year-only and year-month birth dates, Cyrillic aliases, the
  structured name properties; one in a hundred with a demo person's passport number),
  which keys the list, stores it and screens everyone against it (one join);
- ``re-screen``: ``screen_list`` again on the loaded list (the join alone, nothing new to store);
- with ``--verb``, ``verb --json``: ``legionary duplicates --json`` itself, in this process (the
  pairs judged as they are read, the links and possible pairs kept in temporary tables, the groups
  found there, the CI officer's conclusions applied and both tiers written as read back in order),
  the size of its output;
- with ``--hits``, ``hits --json``: ``legionary screening hits --json`` after the list load (every
  hit written as it is read), the size of its output.

``--rss-trace`` prints each step's resident size over its run (sampled every half second by a
second thread): memory that stays flat while the step reads millions of rows, or grows with them.
``--skip-list`` measures the duplicates only, ``--skip-duplicates`` the list only.

Peak memory is the process's resident high-water mark (``VmHWM``), reset before each step, minus
its resident size before the step: what the step added. The demo identities are synthetic (a
dozen given names, six family-name stems, no patronymic), so the counts of groups, pairs and hits
say nothing about quality (``bench_dupes.py`` measures that); the times and memory are the point.
Figures only: nothing is asserted.

Run: ``PYTHONPATH=src:. .venv/bin/python bench/bench_screening_scale.py [--sizes 10000,30000] [--entries 10000]
[--verb] [--rss-trace]``
(on a kept database filled once, e.g. a million people: ``--keep --sizes 1000000``; bench/README.md)
(PostgreSQL: ``.venv/bin/python -m tests.pgserver -- env PYTHONPATH=src:. .venv/bin/python
bench/bench_screening_scale.py``)
"""

from __future__ import annotations

# ruff: noqa: E402 — Django must be set up before the models and services are imported
import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.core.management import call_command
from django.db import connection
from django.test.utils import setup_databases, setup_test_environment, teardown_databases

from legionary.core.demo import FAMILY, GIVEN
from legionary.core.scale import fill
from legionary.identity.models import BlindIndex
from legionary.identity.services import duplicate_screen
from legionary.vetting import screening
from legionary.vetting.models import ScreeningHit, ScreeningList, ScreeningToken

CYRILLIC = {"Ivan": "Иван", "Oleg": "Олег", "Pavel": "Павел", "Artem": "Артём", "Yuri": "Юрий", "Maksim": "Максим"}
PATRONYMICS = ["Ivanovich", "Sergeevich", "Petrovich", "Olegovich", ""]


def _status(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


# Resident memory sampled while a step runs (``--rss-trace``): what the step holds over time, not
# only its high-water mark. The step's own thread is busy, so a second one reads /proc.
TRACE_SECONDS = 0.5
_trace: list[tuple[float, int]] = []


def _sample_rss(stop: threading.Event, started: float) -> None:
    while not stop.wait(TRACE_SECONDS):
        _trace.append((time.perf_counter() - started, _status("VmRSS")))


def measured(step: Callable[[], Any]) -> tuple[Any, float, float, int]:
    """(result, wall seconds, CPU seconds of this process, bytes of resident memory the step added).

    The resident size sampled every ``TRACE_SECONDS`` during the step is left in ``_trace``."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")  # resets VmHWM to the current resident size
    except OSError:
        pass
    before = _status("VmRSS")
    _trace.clear()
    stop = threading.Event()
    wall, cpu = time.perf_counter(), time.process_time()
    sampler = threading.Thread(target=_sample_rss, args=(stop, wall), daemon=True)
    sampler.start()
    try:
        result = step()
    finally:
        stop.set()
        sampler.join()
    return result, time.perf_counter() - wall, time.process_time() - cpu, max(0, _status("VmHWM") - before)


def rss_line(step: str) -> str:
    """The step's resident size over time, MB: ten samples evenly spread over its run (and its last)."""
    if not _trace:
        return f"    rss {step}: (shorter than {TRACE_SECONDS} s)"
    picks = sorted({round(i * (len(_trace) - 1) / 9) for i in range(10)})
    shown = ", ".join(f"{_trace[i][0]:.0f}s {_trace[i][1] / 2**20:.0f}" for i in picks)
    return f"    rss {step} (MB, at seconds into the step): {shown}"


def run_hits() -> int:
    """``legionary screening hits --json`` as the CLI runs it; returns the bytes written."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
        call_command("screening", "hits", "--json", stdout=out)
        return out.tell()


def run_verb() -> int:
    """``legionary duplicates --json`` as the CLI runs it (screen, conclusions applied, references
    looked up, the JSON written); returns the bytes written."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
        call_command("duplicates", "--json", stdout=out)
        return out.tell()


SYLLABLES = ["zar", "vok", "mil", "tesh", "brov", "gan", "lup", "kor", "dun", "sel", "rych", "nov", "pash", "lin"]


def _invented_family(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize() + rng.choice(["ov", "in", "enko", "sky"])


def synthetic_list(entries: int, people: int, rng: random.Random) -> list[str]:
    """FollowTheMoney lines of obviously synthetic listed people, written every way lists write names.

    Most listed people are nobody here (invented family names), as on a real list; one entry in a
    hundred carries the passport number of a demo person and one in a hundred a demo-pool name
    with a random birth date, so that hits are found at every size.
    """
    lines = []
    for n in range(entries):
        given = rng.choice(GIVEN)
        family = rng.choice(FAMILY) if n % 100 == 1 else _invented_family(rng)
        patronymic = rng.choice(PATRONYMICS)
        born = f"{rng.randint(1965, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        style = n % 10
        properties: dict[str, list[str]] = {}
        if style < 4:
            properties["name"] = [f"{family.upper()} {given} {patronymic}".strip()]
            properties["birthDate"] = [born]
        elif style < 6:
            properties["name"] = [f"{given} {family}"]
            properties["birthDate"] = [born[:4] if n % 100 != 1 else born]
        elif style == 6:
            properties["name"] = [f"{family}, {given} {patronymic}".strip()]
            properties["birthDate"] = [born[:7]]
        elif style == 7:
            properties["name"] = [f"{given} {family}"]
            properties["alias"] = [f"{family} {CYRILLIC.get(given, given)}"]
            properties["birthDate"] = [born]
        else:
            properties.update(firstName=[given], lastName=[family], birthDate=[born])
            if patronymic:
                properties["fatherName"] = [patronymic]
        if n % 100 == 0:
            properties["passportNumber"] = [f"DEMO {rng.randint(1, people):09d}"]
        lines.append(json.dumps({"id": f"bench-{n:06d}", "schema": "Person", "properties": properties}))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the database and reuse a kept one (with LEGIONARY_HOME set, a size reached is not filled again)",
    )
    parser.add_argument(
        "--verb",
        action="store_true",
        help="also run `legionary duplicates --json` itself (the screen plus the conclusions, references and JSON)",
    )
    parser.add_argument(
        "--verb-only", action="store_true", help="run the verb instead of the bare screen (the verb holds it)"
    )
    parser.add_argument(
        "--rss-trace", action="store_true", help="print each step's resident memory over time (every 0.5 s)"
    )
    parser.add_argument("--skip-list", action="store_true", help="measure the duplicates only, not the list")
    parser.add_argument("--skip-duplicates", action="store_true", help="measure the list only, not the duplicates")
    parser.add_argument(
        "--hits", action="store_true", help="also run `legionary screening hits --json` after the list load"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    from legionary.audit.services import signing_key_init
    from legionary.identity.services import keyring_init

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False, keepdb=args.keep, serialized_aliases=set())
    keyring_init()
    signing_key_init()
    print(f"database: {connection.vendor}; list of {args.entries:,} entries; load average {os.getloadavg()[0]:.1f}")
    print(
        f"{'people':>8} {'index rows':>11} {'step':<12} {'wall s':>7} {'CPU s':>6} {'+peak MB':>8}  result",
        flush=True,
    )
    try:
        for size in sizes:
            started = time.perf_counter()
            fill(size)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            fill_s = time.perf_counter() - started
            rows = BlindIndex.objects.count()
            print(f"{size:>8,} {rows:>11,} {'fill':<12} {fill_s:7.1f} {'':>6} {'':>8}", flush=True)
            if not args.verb_only and not args.skip_duplicates:
                screened, wall, cpu, peak = measured(duplicate_screen)
                print(
                    f"{size:>8,} {rows:>11,} {'duplicates':<12} {wall:7.1f} {cpu:6.1f} {peak / 2**20:8.1f}  "
                    f"{len(screened.groups):,} groups, {len(screened.possible):,} possible pairs",
                    flush=True,
                )
                if args.rss_trace:
                    print(rss_line("duplicates"), flush=True)
            if (args.verb or args.verb_only) and not args.skip_duplicates:
                written, wall, cpu, peak = measured(run_verb)
                print(
                    f"{size:>8,} {rows:>11,} {'verb --json':<12} {wall:7.1f} {cpu:6.1f} {peak / 2**20:8.1f}  "
                    f"`legionary duplicates --json`: {written / 1024:,.0f} KiB of JSON",
                    flush=True,
                )
                if args.rss_trace:
                    print(rss_line("duplicates --json"), flush=True)
            if args.skip_list:
                continue
            lines = synthetic_list(args.entries, size, random.Random(size))
            ScreeningList.objects.filter(name="bench").delete()  # a kept database: load afresh
            loaded, wall, cpu, peak = measured(
                lambda lines=lines: screening.screening_list_load(name="bench", lines=lines, actor_name="bench")
            )
            if args.rss_trace:
                print(rss_line("list load"), flush=True)
            tokens = ScreeningToken.objects.count()
            print(
                f"{size:>8,} {rows:>11,} {'list load':<12} {wall:7.1f} {cpu:6.1f} {peak / 2**20:8.1f}  "
                f"{loaded.entries:,} entries, {tokens:,} list tokens, {loaded.hits:,} new hits "
                f"({ScreeningHit.objects.filter(strength='match').count():,} match)",
                flush=True,
            )
            again, wall, cpu, peak = measured(lambda loaded=loaded: screening.screen_list(loaded.screening_list))
            print(
                f"{size:>8,} {rows:>11,} {'re-screen':<12} {wall:7.1f} {cpu:6.1f} {peak / 2**20:8.1f}  "
                f"{again} new hits",
                flush=True,
            )
            if args.rss_trace:
                print(rss_line("re-screen"), flush=True)
            if args.hits:
                written, wall, cpu, peak = measured(run_hits)
                print(
                    f"{size:>8,} {rows:>11,} {'hits --json':<12} {wall:7.1f} {cpu:6.1f} {peak / 2**20:8.1f}  "
                    f"`legionary screening hits --json`: {ScreeningHit.objects.count():,} hits, "
                    f"{written / 1024:,.0f} KiB of JSON",
                    flush=True,
                )
                if args.rss_trace:
                    print(rss_line("hits --json"), flush=True)
    finally:
        if not args.keep:
            teardown_databases(old_config, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
