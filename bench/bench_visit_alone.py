"""One applicant's visit served alone, over HTTP: what a submission costs the server with no queueing
and no staff pages (a script: it prints, never asserts speed).

``legionary serve`` with 1 worker x 1 thread on a throwaway PostgreSQL (or ``DATABASE_URL``), a fresh
instance (``init``, ``demo --people 20``). Each visit is ``bench/load.py``'s surge visitor
(``apply_once``): ``GET /apply/``, ``POST /apply/`` with every field and a one-page PDF, ``GET
/apply/sent/`` with the receipt. ``--warm`` unmeasured visits first, then ``--rounds`` rounds of
``--visits`` visits one after another; with ``--baseline-src`` (a tree from ``git archive``, as
``load.py`` takes it) that tree is served beside this one on the same database and the two
alternate round by round, so both see the same machine. Per round: CPU of gunicorn (master,
worker and its sandbox processes) and of PostgreSQL per visit, from /proc, and the wall time. The
reports rollup's refresh after writes is off unless ``--refresh``: one PostgreSQL serves both trees,
so its refreshes would land in whichever round is running.

    python bench/bench_visit_alone.py --baseline-src /tmp/old --visits 40 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load import CpuMeter, apply_once, database, delta, run, serve  # noqa: E402
from tests.core.instance import legionary_env  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=40, help="visits per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warm", type=int, default=20, help="unmeasured visits per tree first")
    parser.add_argument("--baseline-src", type=Path, help="an earlier tree (its src/) served beside this one")
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="keep the reports rollup's refresh after writes (off by default: its PostgreSQL CPU lands in "
        "whichever tree's round is running, and it is not a submission's own cost)",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="legionary-visit-"))
    try:
        with database() as (url, postmaster), ExitStack() as servers:
            env = legionary_env(
                folder / "home",
                url,
                LEGIONARY_HTTPS="0",
                LEGIONARY_APPLY_LIMIT="100000000",
                LEGIONARY_TRUSTED_PROXIES="127.0.0.1",
                LEGIONARY_REPORT_AUTO_REFRESH="background" if args.refresh else "off",
            )
            run(env, "init")
            run(env, "demo", "--people", "20")
            trees = [("this tree", env)]
            if args.baseline_src is not None:
                old = {**env, "PYTHONPATH": os.pathsep.join([str(args.baseline_src / "src"), str(ROOT)])}
                trees.insert(0, (f"baseline {args.baseline_src}", old))
            served = []
            for n, (label, tree_env) in enumerate(trees):
                port, pid = servers.enter_context(serve(tree_env, 1, 1, folder / f"serve{n}.log"))
                served.append((label, port, CpuMeter(pid, postmaster)))
            numbers = iter(range(10**9))
            for label, port, _meter in served:
                for _ in range(args.warm):
                    error, *_ = apply_once(port, next(numbers), f"warm{label[:4]}")
                    if error:
                        raise SystemExit(f"{label}: warm-up visit failed: {error}")
            for round_number in range(args.rounds):
                for label, port, meter in served:
                    before = meter.read()
                    for _ in range(args.visits):
                        error, *_ = apply_once(port, next(numbers), f"r{round_number}{label[:4]}")
                        if error:
                            raise SystemExit(f"{label}: visit failed: {error}")
                    used = delta(meter.read(), before)
                    per = 1000 / args.visits
                    print(
                        f"round {round_number + 1}, {label}: gunicorn {used['gunicorn'] * per:.1f} ms + PostgreSQL "
                        f"{used['postgres'] * per:.1f} ms of CPU per visit, wall {used['wall'] * per:.0f} ms; "
                        f"load average {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
