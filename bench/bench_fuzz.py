"""Schemathesis over every operation of ``/api/v1/openapi.json`` with a large budget.

The same run as ``tests/reliability/test_fuzz_api.py``: seeded staff data (cases in every state,
cohorts with enrolments and results, units with billets), anonymous, as each of the eleven roles
and as two scoped accounts; schema-valid and schema-breaking requests with ids drawn from the
seeded rows, then schemathesis' state machine over the links it infers; checks: no 5xx, documented
status, documented content type, body matching the schema, no scoped account answered 2xx for a
row outside its scope. ``--examples`` per operation, mode and identity and ``--scenarios`` of
``--steps`` calls per identity instead of the suite's few. Prints the requests sent per identity,
the statuses seen and every failure; exits non-zero when there is one.

    python bench/bench_fuzz.py [--examples 25] [--scenarios 40] [--steps 20]
    python -m tests.pgserver -- python bench/bench_fuzz.py --examples 25

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
    parser.add_argument("--examples", type=int, default=25, help="examples per operation, mode and identity")
    parser.add_argument("--scenarios", type=int, default=40, help="stateful scenarios per identity")
    parser.add_argument("--steps", type=int, default=20, help="calls per stateful scenario at most")
    parser.add_argument("--bound", type=int, default=3 * 3600, help="seconds before the run is stopped")
    args = parser.parse_args()
    env = dict(
        os.environ,
        FUZZ_EXAMPLES=str(args.examples),
        FUZZ_SCENARIOS=str(args.scenarios),
        FUZZ_STEPS=str(args.steps),
    )
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
    # Each test prints a summary: a "N requests over M operations" line, then one line per identity.
    lines = result.stdout.splitlines()
    summary = [
        line.lstrip(".")
        for n, line in enumerate(lines)
        if "requests over" in line or (line.startswith("  ") and any("requests over" in x for x in lines[:n]))
    ]
    print(f"examples per operation, mode and identity: {args.examples}; stateful: {args.scenarios} x {args.steps}")
    print("\n".join(summary) if summary else "no summary: the run did not get as far as fuzzing")
    print(f"wall time: {elapsed:.0f} s (shared machine; not a measurement of the API)")
    if result.returncode != 0:
        print(result.stdout[-20000:])
        print(result.stderr[-5000:], file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
