"""Schemathesis over every operation of ``/api/v1/openapi.json`` with a large budget.

The same run as ``tests/reliability/test_fuzz_api.py`` (anonymous and as the investigator,
adjudicator, instructor and unit commander; schema-valid and schema-breaking requests; checks: no
5xx, documented status, documented content type, body matching the schema), with ``--examples``
per operation, mode and identity instead of the suite's few. Prints the requests sent, the
statuses seen and every failure; exits non-zero when there is one.

    python bench/bench_fuzz.py [--examples 100]
    python -m tests.pgserver -- python bench/bench_fuzz.py --examples 100

It runs under pytest (test settings over a throwaway home, a test database that is dropped) so
that it gets the suite's fixtures; the bound on the run is a guard, not a measurement.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="examples per operation, mode and identity")
    parser.add_argument("--bound", type=int, default=3 * 3600, help="seconds before the run is stopped")
    args = parser.parse_args()
    env = dict(os.environ, FUZZ_EXAMPLES=str(args.examples))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/reliability/test_fuzz_api.py", "-q", "-s", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=args.bound,
    )
    elapsed = time.monotonic() - started
    summary = [line for line in result.stdout.splitlines() if "requests over" in line]
    print(f"examples per operation, mode and identity: {args.examples}")
    print(summary[0] if summary else "no summary: the run did not get as far as fuzzing")
    print(f"wall time: {elapsed:.0f} s (shared machine; not a measurement of the API)")
    if result.returncode != 0:
        print(result.stdout[-20000:])
        print(result.stderr[-5000:], file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
