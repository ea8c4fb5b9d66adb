"""Times ``/reports/`` on a kept database for the two viewers of ``bench_reports.py``: the same
figures for whatever code is first on ``PYTHONPATH``, so that two versions can be compared on one
database, alternating, in one sitting.

Run (the kept database of bench/README.md; ``OLD`` an export of another commit's ``src``, e.g.
``git archive beb4a92 src | tar -x -C /tmp/old``)::

    for i in 1 2 3; do
      PYTHONPATH=/tmp/old/src:. .venv/bin/python bench/bench_dashboard_ab.py --renders 20
      PYTHONPATH=src:. .venv/bin/python bench/bench_dashboard_ab.py --renders 20
    done

Prints which code answered (its ``reports/views.py``), then per viewer the median and p95 wall
time, the median CPU time of this process per render, the page's size and a hash of its markup
with the time-dependent parts (CSRF token, "as of", changes since) taken out: equal hashes in one
sitting mean the two versions wrote the same page. Needs a rollup (``bench_reports.py --keep``
leaves one). Figures only.
"""

from __future__ import annotations

# ruff: noqa: E402 — Django must be set up before the models and services are imported
import argparse
import gc
import hashlib
import math
import os
import re
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.test.utils import setup_databases, setup_test_environment

from legionary.access.models import Staff
from tests.conftest import signed_in

VIEWERS = ("bench-intake", "bench-security")  # made by bench_reports.py: protected and exact
TIMELY = re.compile(r'(name="csrfmiddlewaretoken" value="|id="reports-as-of">|id="reports-behind">)[^<"]*')


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--renders", type=int, default=20, help="timed renders per viewer (default 20)")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="move everything alive after the first render to the collector's permanent generation "
        "(what `legionary serve` does before gunicorn forks its workers), to compare with and without",
    )
    args = parser.parse_args()
    from legionary.audit.services import signing_key_init
    from legionary.identity.services import keyring_init
    from legionary.reports import views

    setup_test_environment()
    setup_databases(verbosity=0, interactive=False, keepdb=True, serialized_aliases=set())
    keyring_init()
    signing_key_init()
    print(f"code: {views.__file__}{', gc.freeze()' if args.gc_freeze else ''}")
    for username in VIEWERS:
        client = signed_in(Staff.objects.get(username=username))
        client.get("/reports/", secure=True)
        if args.gc_freeze:
            gc.collect()
            gc.freeze()
        wall, cpu = [], []
        for _ in range(args.renders):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get("/reports/", secure=True)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        page = re.sub(r"\s+", " ", TIMELY.sub("", response.content.decode()))
        p95 = sorted(wall)[max(0, math.ceil(0.95 * len(wall)) - 1)]
        print(
            f"{username}: p50 {1000 * statistics.median(wall):.0f} ms, p95 {1000 * p95:.0f} ms, "
            f"max {1000 * max(wall):.0f} ms, "
            f"CPU p50 {1000 * statistics.median(cpu):.0f} ms, {len(response.content) / 1024:.0f} KiB, "
            f"page {hashlib.sha256(page.encode()).hexdigest()[:12]}, load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
