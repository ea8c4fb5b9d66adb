"""Intake throughput: `legionary import` vs a plain bulk_create, and HTTP submissions vs a plain row.

Usage: .venv/bin/python bench/bench_intake.py [--lines 20000] [--http 300] [--skip-http]

(a) Imports N synthetic lines through the real command (validation, sealing, blind indexes,
    screening, audit, one transaction per line) and bulk_creates N rows of a two-column table in
    the same database; prints both rates, the ratio (goal >= 1/3) and the peak RSS of the import.
(b) Starts `legionary serve` (gunicorn) on 127.0.0.1 and a baseline gunicorn with the same worker
    settings serving a tiny WSGI app that stores one plain row per POST in SQLite (a separate
    app, so no debug-only endpoint has to exist in the product). A second process posts a bounded
    number of applications to each; prints requests/s, p50/p99 latency and the ratio (goal >= 0.5).

Prints figures only; no assertion on time.
"""

# ruff: noqa: S603 — the benchmark starts our own CLI, gunicorn and Python with fixed arguments
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GIVEN = ["Ivan", "Oleg", "Pavel", "Sergei", "Mikhail", "Dmitri", "Andrei", "Taras", "Giorgi", "Levan", "Ales", "Yury"]
FAMILY = ["Petrov", "Sidorov", "Kozlov", "Morozov", "Volkov", "Beridze", "Kapanadze", "Lukashevich", "Zhuk", "Melnyk"]


def synthetic(i: int) -> dict[str, object]:
    rng = random.Random(i)
    return {
        "external_ref": f"bench-{i:08d}",
        "legion": rng.choice(["frl", "bel", "geo", "intl"]),
        "language": rng.choice(["en", "uk", "ru"]),
        "identity": {
            "given_names": rng.choice(GIVEN),
            "family_name": rng.choice(FAMILY) + str(rng.randrange(10**6)),
            "date_of_birth": f"19{rng.randrange(60, 99)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 28):02d}",
            "citizenships": ["RU"],
            "documents": [{"kind": "passport", "country": "RU", "number": f"{rng.randrange(10**9):09d}"}],
        },
        "profile": {"military_experience": "none", "skills": ["driver"]},
        "consent": True,
    }


def fresh_home() -> dict[str, str]:
    home = tempfile.mkdtemp(prefix="legionary-bench-")
    env = {
        **os.environ,
        "LEGIONARY_HOME": home,
        "LEGIONARY_HTTPS": "0",
        "LEGIONARY_KEYRING_PASSPHRASE": "bench-only",
        # One load generator is one client: lift the per-client submission limit for the bench.
        "LEGIONARY_APPLY_LIMIT": "1000000",
    }
    subprocess.run([str(ROOT / ".venv/bin/legionary"), "init"], env=env, check=True, capture_output=True)
    return env


def bench_import(lines: int) -> None:
    env = fresh_home()
    path = Path(env["LEGIONARY_HOME"]) / "bench.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            out.write(json.dumps(synthetic(i)) + "\n")
    script = (
        "import resource, sys, time, django, io;"
        "from django.core.management import call_command;"
        "django.setup();"
        "t = time.perf_counter();"
        f"call_command('import', {str(path)!r}, '--json', stdout=io.StringIO());"
        "took = time.perf_counter() - t;"
        "print(took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "DJANGO_SETTINGS_MODULE": "legionary.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    import_seconds, peak_kib = done.stdout.split()
    baseline = (
        "import time, django; django.setup();"
        "from django.utils import timezone;"
        "from legionary.intake.models import ReceiptFailure;"
        "now = timezone.now(); t = time.perf_counter();"
        "ReceiptFailure.objects.bulk_create("
        f"(ReceiptFailure(client=str(i), at=now) for i in range({lines})), batch_size=1000);"
        "print(time.perf_counter() - t)"
    )
    base = subprocess.run(
        [sys.executable, "-c", baseline],
        env={**env, "DJANGO_SETTINGS_MODULE": "legionary.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    imp_rate = lines / float(import_seconds)
    base_rate = lines / float(base.stdout.strip())
    print(
        f"(a) import: {lines} lines in {float(import_seconds):.1f} s = {imp_rate:,.0f} lines/s; "
        f"peak RSS {int(peak_kib) / 1024:.0f} MiB"
    )
    print(
        f"    bulk_create baseline: {base_rate:,.0f} rows/s; "
        f"ratio import/baseline = {imp_rate / base_rate:.4f} (goal >= 0.333)"
    )


BASELINE_APP = """
import sqlite3, threading, time
_local = threading.local()
def application(environ, start_response):
    db = getattr(_local, "db", None)
    if db is None:
        db = _local.db = sqlite3.connect(PATH, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS row (id INTEGER PRIMARY KEY, body BLOB, at REAL)")
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    db.execute("INSERT INTO row (body, at) VALUES (?, ?)", (body, time.time()))
    start_response("201 Created", [("Content-Type", "application/json")])
    return [b'{"ok": true}']
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(port: int) -> None:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on {port} did not start")


def load(url: str, count: int, offset: int) -> tuple[float, list[float]]:
    def one(i: int) -> float:
        body = json.dumps({**synthetic(offset + i), "external_ref": f"http-{offset + i}"}).encode()
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 — our own loopback server
            response.read()
        return time.perf_counter() - start

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        latencies = list(pool.map(one, range(count)))
    return time.perf_counter() - start, sorted(latencies)


def bench_http(count: int) -> None:
    env = fresh_home()
    port, base_port = free_port(), free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/legionary"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    app_dir = Path(env["LEGIONARY_HOME"]) / "baseline"
    app_dir.mkdir()
    (app_dir / "baseline_app.py").write_text(f"PATH = {str(app_dir / 'rows.sqlite3')!r}\n" + BASELINE_APP)
    baseline = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--bind",
            f"127.0.0.1:{base_port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--worker-class",
            "gthread",
            "--chdir",
            str(app_dir),
            "baseline_app:application",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(port)
        wait_up(base_port)
        # Each load runs in its own process so the generator does not share the GIL with anything else.
        results = {}
        for name, url in (
            ("legionary", f"http://127.0.0.1:{port}/api/v1/applications"),
            ("baseline", f"http://127.0.0.1:{base_port}/"),
        ):
            offset = 10**6 if name == "legionary" else 2 * 10**6
            code = (
                f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_intake as b;"
                f"took, lat = b.load({url!r}, {count}, {offset}); print(json.dumps([took, lat]))"
            )
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600)
            took, latencies = json.loads(out.stdout)
            results[name] = (count / took, latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99) - 1])
        for name, (rate, p50, p99) in results.items():
            print(f"(b) {name}: {rate:,.0f} submissions/s, p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
        print(f"    ratio legionary/baseline = {results['legionary'][0] / results['baseline'][0]:.3f} (goal >= 0.5)")
    finally:
        for process in (server, baseline):
            process.terminate()
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--http", type=int, default=300)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    print(f"max RSS of this driver so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")
    bench_import(args.lines)
    if not args.skip_http:
        bench_http(args.http)
    _ = sqlite3  # the baseline app uses sqlite3 in the server process


if __name__ == "__main__":
    main()
