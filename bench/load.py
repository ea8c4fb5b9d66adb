"""Load test: a mixed workload against `legionary serve` (gunicorn) on loopback, with PostgreSQL.

Usage:
    .venv/bin/python bench/load.py [--requests 3000] [--seconds 240] [--clients 8]
                                   [--workers 4] [--threads 4] [--people 300] [--profile 20] [--json FILE]
    .venv/bin/python bench/load.py --surge 8,16,32 [--surge-seconds 20] [--people 50] [--baseline-src DIR]

Without DATABASE_URL it starts a throwaway PostgreSQL server (tests/pgserver.py); with it, it
creates a database of its own on that server and drops it at the end. With ``--home DIR`` and
DATABASE_URL naming that instance's database, it runs against a kept instance instead (e.g. one
grown to 1M people with ``legionary demo --people 1000000``), adding its own staff and pool. Then:

1. `legionary init` over a fresh LEGIONARY_HOME, `legionary demo --people N` (synthetic people at
   every stage, units, cohorts) and `legionary import` of a pool of received applications for the
   case updates;
2. staff accounts per client (intake officer, security officer, administrator) made with
   `access.services.staff_add` through `legionary shell`; each signs in over HTTP for real: the
   first sign-in leads to the enrolment page, whose TOTP key gives the code (django_otp.oath), and
   the confirmed device signs the session in with both factors;
3. `legionary serve --workers W --threads T` on a free loopback port (LEGIONARY_HTTPS=0: no TLS
   proxy in this measurement; tests/deploy covers nginx);
4. a profile phase: each request kind alone, one client, ``--profile`` requests each: server CPU
   (gunicorn processes, PostgreSQL processes, from /proc/PID/stat) per request of that kind;
5. the mixed phase: ``--clients`` threads, each with its own signed-in staff, send a weighted mix
   until ``--requests`` are done or ``--seconds`` have passed:
     submit       POST /api/v1/applications (JSON, contract/application.schema.json)  -> 201
     cases        GET  /cases/              (vetting work queue)                     -> 200
     intake       GET  /intake/             (intake queue)                           -> 200
     people       GET  /units/people/       (people list, administrator)             -> 200
     audit        GET  /audit/              (audit viewer, security officer)         -> 200
     case         GET  /cases/ID/           (one case)                               -> 200
     start        POST /cases/ID/start      (received -> in review: checks, screening, audit) -> 302
     unseal       POST /cases/ID/unseal     (reason; audited before the identity is shown)   -> 200

With ``--surge 8,16,32`` it measures a surge of applicants instead of the mix: for each value N,
N applicants at once, each a new visitor from an address of his own (``X-Forwarded-For`` through a
trusted proxy on loopback), fetch the public form (``GET /apply/``), submit it in
full with a PDF upload (``POST /apply/``, multipart, -> 303) and fetch the confirmation page with
the receipt (``GET /apply/sent/``), for ``--surge-seconds``; meanwhile two signed-in staff load
their pages (case list, intake queue, one case). It reports submissions/s, the submission's
p50/p99, errors, the staff pages' p95, CPU per submission of gunicorn and PostgreSQL, the load
average, and, measured in the same run, the CPU of one receipt digest as stored now (HMAC-SHA-256)
beside one Argon2id hash as stored before. With ``--baseline-src DIR`` (a source tree of an
earlier commit, e.g. from ``git archive``) that tree is served too, on the same database, and each
level runs on it and then on this tree: before and after in one run, on the same machine. Without
``--surge`` it does the same for the profile phase (``--profile-rounds N``: N rounds, each on the
baseline then on this tree, for a range on a noisy machine).

Prints throughput, error rate, p50/p95/p99 latency per kind and overall, and where the server's
CPU went (gunicorn workers vs PostgreSQL vs this client), with the machine's total CPU use and
the PostgreSQL sessions seen waiting on a lock. Any answer other than the expected status is an
error. Prints figures only; never asserts a timing.
"""

# ruff: noqa: S603 — the benchmark starts our own CLI and PostgreSQL with fixed arguments
from __future__ import annotations

import argparse
import base64
import http.client
import ipaddress
import json
import os
import random
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.core.instance import LEGIONARY, free_port, fresh_database, legionary_env  # noqa: E402

BOUND = 600  # a guard on every subprocess, never a measurement
TIMEOUT = 120  # per request
CLK_TCK = os.sysconf("SC_CLK_TCK")
GIVEN = ["Ivan", "Oleg", "Pavel", "Sergei", "Mikhail", "Dmitri", "Andrei", "Taras", "Giorgi", "Levan", "Ales", "Yury"]
FAMILY = ["Petrov", "Sidorov", "Kozlov", "Morozov", "Volkov", "Beridze", "Kapanadze", "Lukashevich", "Zhuk", "Melnyk"]
# The mix: weights per kind (they need not add up to 100).
MIX = {"submit": 25, "cases": 10, "intake": 10, "people": 10, "audit": 10, "case": 10, "start": 15, "unseal": 10}
CI_POOL = 20  # CI reviews assigned to each client's CI officer, the cases it opens
ROLES = {
    "intake": "intake_officer",
    "security": "security_officer",
    "admin": "administrator",
    # Unseals from the case page: a counter-intelligence officer sees flagged cases and those with a
    # CI review (need-to-know), and may unseal them.
    "ci": "ci_officer",
}


def synthetic(i: int, prefix: str) -> dict[str, Any]:
    """One obviously synthetic application, valid against contract/application.schema.json."""
    rng = random.Random(f"{prefix}{i}")
    return {
        "external_ref": f"{prefix}-{i:08d}",
        "legion": rng.choice(["frl", "bel", "geo", "intl"]),
        "language": rng.choice(["en", "uk", "ru"]),
        "identity": {
            "given_names": rng.choice(GIVEN),
            "family_name": rng.choice(FAMILY) + "-" + "".join(rng.choice("bcdfgklmnprstvz") for _ in range(6)),
            "date_of_birth": f"19{rng.randrange(60, 99)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 28):02d}",
            "citizenships": ["RU"],
            "documents": [{"kind": "passport", "country": "RU", "number": f"{rng.randrange(10**9):09d}"}],
            "phone": f"+7 912 {rng.randrange(1000):03d} {rng.randrange(10000):04d}",
            "email": f"load{i}.{prefix}@example.org",
            "next_of_kin": [],
        },
        "profile": {"military_experience": "none", "skills": [], "motivation": "Synthetic load-test applicant."},
        "consent": True,
    }


def run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([LEGIONARY, *args], env=env, capture_output=True, text=True, timeout=BOUND, check=False)
    if done.returncode != 0:
        raise SystemExit(f"legionary {args[0]} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


MARK = "LOAD-RESULT "


def shell(env: dict[str, str], code: str) -> Any:
    out = run(env, "shell", "-c", f"import json\ndef result(v):\n    print({MARK!r} + json.dumps(v))\n{code}")
    lines = [line for line in out.splitlines() if line.startswith(MARK)]
    return json.loads(lines[-1].removeprefix(MARK))


# --- CPU accounting from /proc ---------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, own CPU ticks, reaped children's CPU ticks) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is state (field 3); utime 14, stime 15, cutime 16, cstime 17 -> indexes 11..14
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by a process, its live descendants and the children it reaped."""
    parents: dict[int, int] = {}
    stats: dict[int, tuple[int, int, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                stats[int(entry)] = st
                parents[int(entry)] = st[0]
    members = {root}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in members and pid not in members:
                members.add(pid)
                grew = True
    ticks = 0
    for pid in members:
        if pid in stats:
            ticks += stats[pid][1] + stats[pid][2]
    return ticks / CLK_TCK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    return (sum(parts) - idle) / CLK_TCK, sum(parts) / CLK_TCK


@dataclass
class CpuMeter:
    gunicorn_pid: int
    postgres_pid: int | None

    def read(self) -> dict[str, float]:
        busy, total = machine_cpu()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "gunicorn": tree_cpu(self.gunicorn_pid),
            "postgres": tree_cpu(self.postgres_pid) if self.postgres_pid else float("nan"),
            "client": usage.ru_utime + usage.ru_stime,
            "machine_busy": busy,
            "machine_total": total,
            "wall": time.monotonic(),
        }


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before[k] for k in after}


# --- HTTP sessions ---------------------------------------------------------------------------------


@dataclass
class Session:
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    # The client's address as the proxy on this machine would pass it on (None: this machine).
    forwarded_for: str | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, http.client.HTTPMessage]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            all_headers = dict(headers or {})
            if self.forwarded_for:
                all_headers["X-Forwarded-For"] = self.forwarded_for
            if self.cookies:
                all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        for raw in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = raw.partition("=")
            self.cookies[name.strip()] = rest.split(";")[0]
        return response.status, data, response.headers

    def form(self, path: str, fields: dict[str, str]) -> tuple[int, bytes, http.client.HTTPMessage]:
        token = self.cookies.get("legionary-csrf", "")
        body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token}).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})


def totp_now(secret: str) -> str:
    from django_otp.oath import TOTP

    key = base64.b32decode(secret.replace(" ", "").upper() + "=" * (-len(secret.replace(" ", "")) % 8))
    return f"{TOTP(key, step=30, digits=6).token():06d}"


def sign_in(port: int, username: str, password: str) -> Session:
    """The first sign-in as a person makes it: password, enrol the authenticator, its code."""
    session = Session(port)
    session.request("GET", "/login/")
    status, _body, headers = session.form("/login/", {"username": username, "password": password, "code": ""})
    if status != 302 or "/login/enrol/" not in headers.get("Location", ""):
        raise SystemExit(f"sign-in of {username} did not lead to enrolment ({status})")
    status, page, _headers = session.request("GET", "/login/enrol/")
    found = re.search(rb'id="totp-secret">([A-Z2-7 ]+)<', page)
    if status != 200 or found is None:
        raise SystemExit(f"no TOTP key on the enrolment page for {username} ({status})")
    status, page, _headers = session.form("/login/enrol/", {"code": totp_now(found.group(1).decode())})
    if status != 200 or b"recovery" not in page.lower():
        raise SystemExit(f"enrolment of {username} failed ({status})")
    status, _page, _headers = session.request("GET", "/cases/" if "intake" in username else "/")
    if status != 200:
        raise SystemExit(f"{username} is not signed in after enrolment ({status})")
    return session


# --- the workload ----------------------------------------------------------------------------------


@dataclass
class Shared:
    received: list[int]
    cases: list[int]
    ci_cases: list[list[int]]  # per client: the cases whose CI review is its CI officer's
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0

    def next_received(self) -> int | None:
        with self.lock:
            return self.received.pop() if self.received else None

    def next_number(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter


@dataclass
class Client:
    sessions: dict[str, Session]
    shared: Shared
    rng: random.Random
    run_id: str
    index: int = 0  # which client (its sessions, its CI officer's cases)

    def do(self, kind: str) -> tuple[int, int]:
        """Sends one request of ``kind``; (status, the status that counts as success)."""
        s = self.sessions
        if kind == "submit":
            body = json.dumps(synthetic(self.shared.next_number(), self.run_id)).encode()
            # An applicant: no session, no cookie.
            status = Session(s["intake"].port).request(
                "POST", "/api/v1/applications", body, {"Content-Type": "application/json"}
            )[0]
            return status, 201
        if kind in ("cases", "intake", "people", "audit"):
            who, path = {
                "cases": ("intake", "/cases/"),
                "intake": ("intake", "/intake/"),
                "people": ("admin", "/units/people/"),
                "audit": ("security", "/audit/"),
            }[kind]
            return s[who].request("GET", path)[0], 200
        if kind == "case":
            return s["intake"].request("GET", f"/cases/{self.rng.choice(self.shared.cases)}/")[0], 200
        if kind == "start":
            case_id = self.shared.next_received()
            if case_id is None:
                raise RuntimeError("the pool of received cases ran out; raise --pool")
            return s["intake"].form(f"/cases/{case_id}/start", {})[0], 302
        if kind == "unseal":
            case_id = self.rng.choice(self.shared.ci_cases[self.index])
            reason = "Load test: identity check for the case file."
            return s["ci"].form(f"/cases/{case_id}/unseal", {"reason": reason})[0], 200
        raise ValueError(kind)


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if error:
                self.errors[kind].append(error)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.latencies.values())


def timed(client: Client, kind: str, results: Results) -> None:
    started = time.perf_counter()
    error = None
    try:
        status, expected = client.do(kind)
        if status != expected:
            error = f"status {status}"
    except Exception as exc:  # noqa: BLE001 — every failure of a request is counted, none stops the run
        error = f"{type(exc).__name__}: {exc}"
    results.add(kind, time.perf_counter() - started, error)


def parse_mix(text: str) -> dict[str, int]:
    """``kind=weight,...`` (``default`` for MIX)."""
    if text == "default":
        return dict(MIX)
    mix = {}
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        if kind not in MIX:
            raise SystemExit(f"unknown request kind {kind!r}; choose from {', '.join(MIX)}")
        mix[kind] = int(weight or 1)
    return mix


def mixed(clients: list[Client], requests: int, seconds: float, mix: dict[str, int]) -> tuple[Results, float]:
    results = Results()
    budget = threading.Semaphore(requests)
    deadline = time.monotonic() + seconds
    kinds, weights = list(mix), list(mix.values())

    def loop(client: Client) -> None:
        while time.monotonic() < deadline and budget.acquire(blocking=False):
            timed(client, client.rng.choices(kinds, weights)[0], results)

    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 2 * TIMEOUT)
    return results, time.monotonic() - started


class LockSampler:
    """Samples pg_stat_activity: our database's sessions that are active, wait on a lock, and wait on
    the audit log head's row lock."""

    def __init__(self, url: str, database: str) -> None:
        self.url, self.database = url, database
        self.samples: list[tuple[int, int, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(0.25):
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE state = 'active'), "
                    "count(*) FILTER (WHERE wait_event_type = 'Lock'), "
                    # The audit log's single append point: SELECT ... FOR UPDATE of its head row.
                    "count(*) FILTER (WHERE wait_event_type = 'Lock' AND query ILIKE '%%audit_loghead%%') "
                    "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.database,),
                ).fetchone()
                if row is not None:
                    self.samples.append((int(row[0]), int(row[1]), int(row[2])))

    def __enter__(self) -> LockSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# --- the instance ----------------------------------------------------------------------------------


@contextmanager
def database(*, kept: bool = False) -> Iterator[tuple[str, int | None]]:
    """(DATABASE_URL of a fresh database, or of the kept one, the PostgreSQL postmaster's pid when it runs here)."""
    with ExitStack() as stack:
        if not os.environ.get("DATABASE_URL"):
            from tests.pgserver import postgres_server

            # announce: the server's data directory in the environment, so its CPU can be read
            os.environ["DATABASE_URL"] = stack.enter_context(postgres_server(announce=True))
        url = os.environ["DATABASE_URL"] if kept else stack.enter_context(fresh_database())
        assert url is not None
        postmaster = None
        data = os.environ.get("LEGIONARY_TEST_PGDATA")
        if data and Path(data, "postmaster.pid").exists():
            postmaster = int(Path(data, "postmaster.pid").read_text().split()[0])
        yield url, postmaster


@contextmanager
def serve(env: dict[str, str], workers: int, threads: int, log: Path) -> Iterator[tuple[int, int]]:
    port = free_port()
    with log.open("wb") as out:
        server = subprocess.Popen(
            [LEGIONARY, "serve", "--port", str(port), "--workers", str(workers), "--threads", str(threads)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise SystemExit(f"legionary serve exited:\n{log.read_text(errors='replace')}")
            try:
                if Session(port).request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("legionary serve did not answer /healthz")
            time.sleep(0.2)
        yield port, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=60)


def seed(
    env: dict[str, str], folder: Path, people: int, pool: int, clients: int, tag: str
) -> tuple[dict[str, Any], list[int]]:
    """Demo data, a pool of received applications, and staff per client; (passwords, case ids).

    ``tag`` names this run's pool and staff, so that a run over a kept instance (``--home``) adds its
    own rather than colliding with an earlier run's.
    """
    run(env, "init")
    run(env, "demo", "--people", str(people))
    jsonl = folder / "pool.jsonl"
    with jsonl.open("w", encoding="utf-8") as out:
        for i in range(pool):
            out.write(json.dumps(synthetic(i, f"pool{tag}")) + "\n")
    run(env, "import", str(jsonl), "--json")
    names = {staff_name(key, i, tag): role for i in range(clients) for key, role in ROLES.items()}
    passwords = shell(
        env,
        "from legionary.access.services import Scope, staff_add\n"
        f"names = {names!r}\n"
        "made = {u: staff_add(username=u, roles=[r], scope=Scope(), actor='load-test') for u, r in names.items()}\n"
        "result({u: password for u, (_staff, password) in made.items()})\n",
    )
    cases = shell(
        env,
        "from legionary.vetting.models import Case\n"
        f"result(list(Case.objects.filter(person__external_ref__startswith='pool{tag}-', state='received')"
        ".values_list('id', flat=True)))\n",
    )
    return passwords, cases


def staff_name(key: str, i: int, tag: str) -> str:
    return f"load{tag}-{key}-{i}"


def report_cpu(title: str, used: dict[str, float], requests: int, cores: int) -> dict[str, float]:
    wall = used["wall"]
    machine = used["machine_busy"] / used["machine_total"] * cores if used["machine_total"] else float("nan")
    print(
        f"  {title}: gunicorn {used['gunicorn']:.1f} s CPU ({used['gunicorn'] / wall:.2f} cores), "
        f"PostgreSQL {used['postgres']:.1f} s ({used['postgres'] / wall:.2f} cores), "
        f"this client {used['client']:.1f} s ({used['client'] / wall:.2f} cores); "
        f"whole machine busy {machine:.2f} of {cores} cores (other work included)"
    )
    if requests:
        print(
            f"  per request: gunicorn {used['gunicorn'] / requests * 1000:.1f} ms CPU, "
            f"PostgreSQL {used['postgres'] / requests * 1000:.1f} ms CPU"
        )
    per = max(requests, 1)
    return {
        "gunicorn_ms_per_request": used["gunicorn"] / per * 1000,
        "postgres_ms_per_request": used["postgres"] / per * 1000,
        "gunicorn_cores": used["gunicorn"] / wall,
        "postgres_cores": used["postgres"] / wall,
        "client_cores": used["client"] / wall,
        "machine_busy_cores": machine,
    }


def profile_phase(client: Client, meter: CpuMeter, count: int) -> dict[str, Any]:
    """Each kind alone from one client: latency and server CPU per request of that kind."""
    print(f"\nProfile: each kind alone, one client, {count} requests")
    print(f"  {'kind':<8} {'p50 ms':>8} {'gunicorn CPU ms/req':>20} {'PostgreSQL CPU ms/req':>22}  errors")
    profile: dict[str, Any] = {}
    for kind in MIX:
        results = Results()
        before = meter.read()
        for _ in range(count):
            timed(client, kind, results)
        used = delta(meter.read(), before)
        row = {
            "p50_ms": percentile(results.latencies[kind], 50) * 1000,
            "gunicorn_cpu_ms": used["gunicorn"] / count * 1000,
            "postgres_cpu_ms": used["postgres"] / count * 1000,
            "errors": len(results.errors[kind]),
        }
        profile[kind] = row
        first = f"  first error: {results.errors[kind][0]}" if results.errors[kind] else ""
        print(
            f"  {kind:<8} {row['p50_ms']:8.1f} {row['gunicorn_cpu_ms']:20.1f} "
            f"{row['postgres_cpu_ms']:22.1f}  {row['errors']:6d}{first}"
        )
    argon2 = argon2_cost()
    share = argon2 / profile["submit"]["gunicorn_cpu_ms"] * 100 if profile["submit"]["gunicorn_cpu_ms"] else 0
    print(f"  one Argon2id receipt hash (intake.receipts.HASHER) alone: {argon2:.1f} ms CPU, {share:.0f}% of a submit")
    profile["argon2id_ms"] = argon2
    return profile


BETWEEN_VARIANTS = 15  # seconds
WARM_UP_EACH = 3  # requests of each kind on each tree before the profile


def profile_rounds(
    args: argparse.Namespace,
    env: dict[str, str],
    client: Client,
    port: int,
    meter: CpuMeter,
    postmaster: int | None,
    folder: Path,
) -> dict[str, Any]:
    """The profile phase ``--profile-rounds`` times; with ``--baseline-src``, that tree is served too, on
    the same database with the same signed-in sessions, and each round profiles it and then this tree,
    so that both see the same machine. Returns {"profile": [rounds of this tree], "profile_baseline": [...]}."""
    out: dict[str, Any] = {"profile": []}
    with ExitStack() as stack:
        variants: list[tuple[str, int, CpuMeter]] = [("this tree", port, meter)]
        if args.baseline_src is not None:
            old_env = {**env, "PYTHONPATH": os.pathsep.join([str(args.baseline_src / "src"), str(ROOT)])}
            old_port, old_pid = stack.enter_context(
                serve(old_env, args.workers, args.threads, folder / "serve-baseline.log")
            )
            variants.insert(0, (f"baseline {args.baseline_src}", old_port, CpuMeter(old_pid, postmaster)))
            out["profile_baseline"] = []
        if len(variants) > 1:
            # Unmeasured: a few requests of every kind on each tree, so that neither is measured cold.
            for _label, variant_port, _meter in variants:
                for session in client.sessions.values():
                    session.port = variant_port
                for kind in MIX:
                    for _ in range(WARM_UP_EACH):
                        timed(client, kind, Results())
        for round_number in range(args.profile_rounds):
            for label, variant_port, variant_meter in variants:
                if len(variants) > 1:
                    # A pause, so that the other tree's refresh after its last writes (a timer of its
                    # process) is over before this one is measured: PostgreSQL's CPU is shared.
                    time.sleep(BETWEEN_VARIANTS)
                for session in client.sessions.values():
                    session.port = variant_port
                print(f"\n[{label}, round {round_number + 1} of {args.profile_rounds}]", end="")
                figures = profile_phase(client, variant_meter, args.profile)
                out["profile" if variant_port == port else "profile_baseline"].append(figures)
        for session in client.sessions.values():
            session.port = port
    if len(out["profile"]) == 1 and "profile_baseline" not in out:
        out["profile"] = out["profile"][0]  # as before: one profile, not a list
    return out


def argon2_cost(count: int = 20) -> float:
    """CPU milliseconds of one receipt hash with the intake's own Argon2id parameters, in this process."""
    from legionary.intake.receipts import HASHER

    started = time.process_time()
    for i in range(count):
        HASHER.hash(f"load test receipt words number {i}")
    return (time.process_time() - started) / count * 1000


def mixed_phase(
    clients: list[Client],
    meter: CpuMeter,
    requests: int,
    seconds: float,
    sampler_target: tuple[str, str],
    cores: int,
    mix: dict[str, int],
) -> dict[str, Any]:
    """The weighted mix from ``len(clients)`` concurrent clients; prints and returns the figures."""
    named = "the default mix" if mix == MIX else "mix " + ",".join(f"{k}={w}" for k, w in mix.items())
    print(f"\nMixed: {len(clients)} clients, {named}, at most {requests} requests or {seconds:.0f} s")
    before = meter.read()
    with LockSampler(*sampler_target) as sampler:
        results, wall = mixed(clients, requests, seconds, mix)
    used = delta(meter.read(), before)
    total = results.total
    errors = sum(len(v) for v in results.errors.values())
    everything = [x for v in results.latencies.values() for x in v]
    print(f"  {'kind':<8} {'count':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    per_kind = {}
    for kind in [*mix, "all"]:
        lat = everything if kind == "all" else results.latencies.get(kind, [])
        failed = errors if kind == "all" else len(results.errors.get(kind, []))
        row = {
            "count": len(lat),
            "errors": failed,
            "p50_ms": percentile(lat, 50) * 1000,
            "p95_ms": percentile(lat, 95) * 1000,
            "p99_ms": percentile(lat, 99) * 1000,
        }
        per_kind[kind] = row
        print(
            f"  {kind:<8} {row['count']:6d} {row['errors']:6d} {row['p50_ms']:8.0f} "
            f"{row['p95_ms']:8.0f} {row['p99_ms']:8.0f}"
        )
    throughput = total / wall if wall else float("nan")
    rate = errors / total * 100 if total else float("nan")
    print(f"  throughput {throughput:.1f} requests/s over {wall:.1f} s; error rate {rate:.2f}% ({errors} of {total})")
    for kind, messages in results.errors.items():
        print(f"  errors in {kind}: {sorted(set(messages))[:5]}")
    cpu = report_cpu("CPU", {**used, "wall": wall}, total, cores)
    if sampler.samples:
        n = len(sampler.samples)
        active = sum(a for a, _, _ in sampler.samples) / n
        waiting = sum(w for _, w, _ in sampler.samples) / n
        on_audit = sum(h for _, _, h in sampler.samples) / n
        worst = max(w for _, w, _ in sampler.samples)
        print(
            f"  PostgreSQL sessions (sampled every 0.25 s): {active:.2f} active on average, "
            f"{waiting:.2f} waiting on a lock (at most {worst}), {on_audit:.2f} of them on the audit log head"
        )
        cpu.update(pg_active=active, pg_lock_waiting=waiting, pg_lock_waiting_max=worst, pg_audit_head_waiting=on_audit)
    return {
        "clients": len(clients),
        "mix": mix,
        "requests": total,
        "errors": errors,
        "seconds": wall,
        **cpu,
        "kinds": per_kind,
    }


# --- the surge of applicants -------------------------------------------------------------------------


def small_pdf(tag: str) -> bytes:
    """A valid one-page PDF (cross-reference offsets computed), different for each applicant."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
    ]
    stream = f"BT /F1 12 Tf 20 100 Td (scan {tag}) Tj ET".encode()
    objects.append(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def form_fields(i: int, run_id: str) -> dict[str, str | list[str]]:
    """The public form filled in full, as a person would (tests/intake/test_public_pages.py's fields)."""
    data = synthetic(i, run_id)
    who = data["identity"]
    return {
        "legion": data["legion"],
        "given_names": who["given_names"],
        "family_name": who["family_name"],
        "date_of_birth": who["date_of_birth"],
        "place_of_birth": "Loadtestburg",
        "citizenships": "RU",
        "phone": who["phone"],
        "email": who["email"],
        "doc_1_kind": "passport",
        "doc_1_country": "RU",
        "doc_1_number": who["documents"][0]["number"],
        "kin_1_name": "Synthetic Relative",
        "kin_1_relation": "sister",
        "military_experience": "contract",
        "years_of_service": "3",
        "skills": ["mortar", "medic"],
        "motivation": "Synthetic surge applicant.",
        "consent": "on",
    }


def multipart(fields: dict[str, str | list[str]], files: dict[str, tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = "----legionary-load-" + secrets.token_hex(12)
    out = bytearray()
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{one}\r\n'.encode()
    for name, (filename, content_type, data) in files.items():
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def visitor_address(number: int) -> str:
    """The address visitor ``number`` comes from, in 198.18.0.0/15 (RFC 2544's range for benchmarks)."""
    return str(ipaddress.IPv4Address("198.18.0.0") + number % (1 << 17))


def apply_once(port: int, number: int, run_id: str) -> tuple[str | None, float, float, float]:
    """One new visitor: fetches the form, submits it with an upload (answered 303 to the
    confirmation page), and fetches that page, which shows the receipt once.
    (error, form page s, POST s, confirmation page s).

    Each visitor comes from an address of his own, through the proxy on this machine
    (``X-Forwarded-For``, ``LEGIONARY_TRUSTED_PROXIES``), as a surge from the internet does: from
    one address, the hourly limit's count would read every earlier submission of the run."""
    visitor = Session(port, forwarded_for=visitor_address(number))
    started = time.perf_counter()
    status, page, _ = visitor.request("GET", "/apply/?lang=en")
    fetched = time.perf_counter()
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if status != 200 or token is None:
        return f"form page status {status}", fetched - started, 0.0, 0.0
    fields = {**form_fields(number, run_id), "csrfmiddlewaretoken": token.group(1).decode()}
    body, content_type = multipart(
        fields, {"upload_1": ("passport.pdf", "application/pdf", small_pdf(f"{run_id}{number}"))}
    )
    status, page, headers = visitor.request("POST", "/apply/?lang=en", body, {"Content-Type": content_type})
    posted = time.perf_counter()
    location = headers.get("Location", "")
    if status != 303 or not location.startswith("/apply/sent/"):
        return f"submit status {status}", fetched - started, posted - fetched, 0.0
    status, page, _ = visitor.request("GET", location)
    shown = time.perf_counter()
    if status != 200 or b'id="receipt"' not in page:
        return f"confirmation page status {status} (no receipt)", fetched - started, posted - fetched, shown - posted
    return None, fetched - started, posted - fetched, shown - posted


def warm_up(port: int, submissions: int, run_id: str) -> None:
    """``submissions`` applicants, 8 at a time, none measured: a server just started spends its first
    requests importing and starting its workers' sandboxes, which a surge level must not count."""
    numbers = iter(range(submissions))
    lock = threading.Lock()

    def applicant() -> None:
        while True:
            with lock:
                number = next(numbers, None)
            if number is None:
                return
            try:
                apply_once(port, number, run_id)
            except OSError:
                pass

    threads = [threading.Thread(target=applicant) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10 * TIMEOUT)


def receipt_digest_costs(count: int = 200) -> tuple[float, float]:
    """(ms CPU of one receipt digest as stored now, HMAC-SHA-256; ms CPU of one Argon2id hash as before),
    both with the intake's own code and parameters, in this process."""
    import hashlib
    import hmac

    key = secrets.token_bytes(32)
    started = time.process_time()
    for i in range(count):
        hmac.new(key, f"load test receipt words number {i}".encode(), hashlib.sha256).hexdigest()
    hmac_ms = (time.process_time() - started) / count * 1000
    return hmac_ms, argon2_cost()


def surge_phase(
    port: int,
    staff: list[Session],
    cases: list[int],
    applicants: int,
    seconds: float,
    run_id: str,
    meter: CpuMeter,
    cores: int,
) -> dict[str, Any]:
    """``applicants`` concurrent new visitors submitting the full form for ``seconds``; staff pages meanwhile."""
    print(f"\nSurge: {applicants} applicants at once for {seconds:.0f} s, two staff loading pages meanwhile")
    counter = iter(range(10**9))
    lock = threading.Lock()
    gets: list[float] = []
    posts: list[float] = []
    shows: list[float] = []
    errors: list[str] = []
    staff_lat: list[float] = []
    staff_errors: list[str] = []
    deadline = time.monotonic() + seconds

    def applicant() -> None:
        while time.monotonic() < deadline:
            with lock:
                number = next(counter)
            try:
                error, got, posted, shown = apply_once(port, number, run_id)
            except Exception as exc:  # noqa: BLE001 — every failure is counted, none stops the run
                error, got, posted, shown = f"{type(exc).__name__}: {exc}", 0.0, 0.0, 0.0
            with lock:
                gets.append(got)
                if error:
                    errors.append(error)
                else:
                    posts.append(posted)
                    shows.append(shown)

    def officer(session: Session, rng: random.Random) -> None:
        while time.monotonic() < deadline:
            path = rng.choice(["/cases/", "/intake/", f"/cases/{rng.choice(cases)}/"])
            started = time.perf_counter()
            try:
                status = session.request("GET", path)[0]
                error = None if status == 200 else f"{path} status {status}"
            except Exception as exc:  # noqa: BLE001
                error = f"{type(exc).__name__}: {exc}"
            with lock:
                staff_lat.append(time.perf_counter() - started)
                if error:
                    staff_errors.append(error)

    before = meter.read()
    started = time.monotonic()
    threads = [threading.Thread(target=applicant) for _ in range(applicants)]
    threads += [threading.Thread(target=officer, args=(s, random.Random(n))) for n, s in enumerate(staff)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 2 * TIMEOUT)
    wall = time.monotonic() - started
    used = delta(meter.read(), before)
    row = {
        "applicants": applicants,
        "seconds": wall,
        "submissions": len(posts),
        "submissions_per_s": len(posts) / wall if wall else float("nan"),
        "submit_p50_ms": percentile(posts, 50) * 1000,
        "submit_p99_ms": percentile(posts, 99) * 1000,
        "form_page_p50_ms": percentile(gets, 50) * 1000,
        "confirmation_p50_ms": percentile(shows, 50) * 1000,
        "errors": len(errors),
        "staff_requests": len(staff_lat),
        "staff_p95_ms": percentile(staff_lat, 95) * 1000,
        "staff_errors": len(staff_errors),
    }
    print(
        f"  {row['submissions']} submissions in {wall:.1f} s: {row['submissions_per_s']:.1f}/s; submit p50 "
        f"{row['submit_p50_ms']:.0f} ms, p99 {row['submit_p99_ms']:.0f} ms "
        f"(form page p50 {row['form_page_p50_ms']:.0f} ms, confirmation page {row['confirmation_p50_ms']:.0f} ms); "
        f"errors {row['errors']}"
    )
    print(
        f"  staff pages meanwhile: {row['staff_requests']} requests, p95 {row['staff_p95_ms']:.0f} ms, "
        f"errors {row['staff_errors']}"
    )
    for message in sorted(set(errors + staff_errors))[:5]:
        print(f"  error: {message}")
    row.update(report_cpu("CPU", {**used, "wall": wall}, len(posts), cores))
    row["load_average_1min"] = os.getloadavg()[0]
    print(f"  load average (1 min) at the end: {row['load_average_1min']:.1f}")
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="stop each mixed phase after this many requests")
    parser.add_argument("--seconds", type=float, default=240, help="...or after this long")
    parser.add_argument(
        "--clients", default="8", help="concurrent clients; a comma-separated list runs one mixed phase per value"
    )
    parser.add_argument(
        "--mix",
        default="default",
        help="request kinds and weights, e.g. 'submit=1' or 'cases=1,intake=1'; ';' separates mixes, "
        "each run at every --clients value (default: the mix in the docstring)",
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--people", type=int, default=300, help="demo people before the run")
    parser.add_argument("--pool", type=int, default=0, help="received cases for 'start' (default: enough)")
    parser.add_argument("--profile", type=int, default=20, help="requests per kind in the profile phase (0: skip)")
    parser.add_argument(
        "--profile-rounds", type=int, default=1, help="profile phases to run (with --baseline-src: each on both trees)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--surge", help="measure a surge of applicants instead of the mix: concurrent applicants, e.g. 8,16,32"
    )
    parser.add_argument("--surge-seconds", type=float, default=20, help="how long each surge level lasts")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="a source tree of an earlier commit (its src/ is put first on PYTHONPATH, e.g. from `git archive`), "
        "served beside this one on the same database; each surge level, or each profile round, runs on the "
        "baseline, then on this tree, so both see the same machine",
    )
    parser.add_argument(
        "--home",
        type=Path,
        help="run against this kept instance (its LEGIONARY_HOME; DATABASE_URL must then name its "
        "PostgreSQL database) instead of a throwaway one: e.g. one grown to 1M people. The run adds its "
        "staff, a pool of applications and its requests' records to it, and drops nothing",
    )
    args = parser.parse_args()
    # A surge needs two signed-in intake officers for the staff pages measured meanwhile.
    phases = [int(c) for c in args.clients.split(",")] if not args.surge else [2]
    if args.surge:
        args.profile = 0
    mixes = [parse_mix(m) for m in args.mix.split(";")]
    cores = os.cpu_count() or 1
    starts = sum(m.get("start", 0) / sum(m.values()) for m in mixes) if not args.surge else 0
    profiles = args.profile_rounds * (2 if args.baseline_src is not None else 1)
    wanted = len(phases) * args.requests * starts * 1.5 + (args.profile + WARM_UP_EACH) * profiles + 50
    pool = args.pool or int(wanted)
    out: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "cores": cores}

    if args.home is not None and not (args.home.is_dir() and os.environ.get("DATABASE_URL")):
        parser.error("--home takes an existing instance folder, with DATABASE_URL naming its database")
    tag = secrets.token_hex(3) if args.home is not None else ""
    folder = Path(tempfile.mkdtemp(prefix="legionary-load-"))
    try:
        with database(kept=args.home is not None) as (url, postmaster):
            home = args.home if args.home is not None else folder / "home"
            # Each CI officer opens identities for the CI reviews assigned to him (purpose-bound, issue
            # 21); the day's allowance is raised so that the load measures openings, not approvals.
            policy = folder / "opening-policy.json"
            policy.write_text(json.dumps({"default": {"allowance": {"ci_officer": 1_000_000}}}), encoding="utf-8")
            env = legionary_env(
                home,
                url,
                LEGIONARY_HTTPS="0",
                # The mix's API submissions all come from this machine: no hourly limit for them.
                LEGIONARY_APPLY_LIMIT="100000000",
                # The surge's visitors come through a proxy on this machine, each from his own address.
                LEGIONARY_TRUSTED_PROXIES="127.0.0.1",
                LEGIONARY_OPENING_POLICY_FILE=str(policy),
            )
            t0 = time.monotonic()
            passwords, received = seed(env, folder, args.people, pool, max(phases), tag)
            officers = [staff_name("ci", i, tag) for i in range(max(phases))]
            cases, ci_cases = shell(
                env,
                "from legionary.access.models import Staff\n"
                "from legionary.vetting import services\n"
                "from legionary.vetting.models import Case, Check\n"
                "live = Case.objects.filter(person__erased_at__isnull=True)\n"
                f"assigner = Staff.objects.get(username={staff_name('intake', 0, tag)!r})\n"
                "reviews = list(Check.objects.filter(check_type__is_ci_review=True, result='',"
                " case__person__erased_at__isnull=True).order_by('id').values_list('id', 'case_id'))\n"
                "pools = []\n"
                f"for i, name in enumerate({officers!r}):\n"
                "    officer = Staff.objects.get(username=name)\n"
                f"    mine = reviews[i * {CI_POOL}:(i + 1) * {CI_POOL}]\n"
                "    for check_id, _case in mine:\n"
                "        services.check_assign(check_id=check_id, assignee=officer, actor=assigner)\n"
                "    pools.append([case_id for _check, case_id in mine])\n"
                "result([list(live.values_list('id', flat=True)), pools])\n",
            )
            # The surge opens no identity: its staff only load pages.
            if not args.surge and not all(ci_cases):
                raise SystemExit("no case for the counter-intelligence officer to unseal; raise --people")
            print(
                f"Seeded in {time.monotonic() - t0:.0f} s: {args.people} demo people, {len(received)} received "
                f"cases in the pool, {sum(map(len, ci_cases))} cases whose CI review is a CI officer's to open, "
                f"{len(passwords)} staff accounts. PostgreSQL "
                + ("started here" if postmaster else "from DATABASE_URL (CPU not measured)")
            )
            with serve(env, args.workers, args.threads, folder / "serve.log") as (port, gunicorn_pid):
                sessions = [
                    {key: sign_in(port, staff_name(key, i, tag), passwords[staff_name(key, i, tag)]) for key in ROLES}
                    for i in range(max(phases))
                ]
                shared = Shared(received=list(reversed(received)), cases=cases, ci_cases=ci_cases)
                clients = [
                    Client(sessions[i], shared, random.Random(args.seed * 1000 + i), f"load{args.seed}{tag}", i)
                    for i in range(max(phases))
                ]
                meter = CpuMeter(gunicorn_pid, postmaster)
                print(
                    f"legionary serve: {args.workers} workers x {args.threads} threads on 127.0.0.1:{port}; "
                    f"{len(clients)} clients signed in with password + TOTP; {cores} cores on this machine"
                )
                if args.surge:
                    hmac_ms, argon2_ms = receipt_digest_costs()
                    print(
                        "\nReceipt digest, measured in this run: "
                        f"HMAC-SHA-256 {hmac_ms * 1000:.1f} µs CPU (stored now); "
                        f"Argon2id {argon2_ms:.1f} ms CPU (stored before), which alone would cap submissions at "
                        f"{cores * 1000 / argon2_ms:.0f}/s on {cores} cores"
                    )
                    staff = [clients[0].sessions["intake"], clients[1].sessions["intake"]]
                    out["receipt_digest"] = {"hmac_sha256_ms": hmac_ms, "argon2id_ms": argon2_ms}
                    with ExitStack() as baseline_stack:
                        variants: list[tuple[str, int, CpuMeter]] = [("this tree", port, meter)]
                        if args.baseline_src is not None:
                            # The same database, keys and staff sessions; only the code differs.
                            old_path = os.pathsep.join([str(args.baseline_src / "src"), str(ROOT)])
                            old_env = {**env, "PYTHONPATH": old_path}
                            old_port, old_pid = baseline_stack.enter_context(
                                serve(old_env, args.workers, args.threads, folder / "serve-baseline.log")
                            )
                            old_meter = CpuMeter(old_pid, postmaster)
                            variants.insert(0, (f"baseline {args.baseline_src}", old_port, old_meter))
                        for label, variant_port, _meter in variants:
                            # Unmeasured: every worker imports its views and starts its sandbox.
                            warm_up(variant_port, 4 * args.workers * args.threads, f"warm{args.seed}{tag}{label[:4]}")
                        out["surge"] = []
                        for n in args.surge.split(","):
                            for label, variant_port, variant_meter in variants:
                                for session in staff:
                                    session.port = variant_port
                                if len(variants) > 1:
                                    print(f"\n[{label}]", end="")
                                row = surge_phase(
                                    variant_port,
                                    staff,
                                    cases,
                                    int(n),
                                    args.surge_seconds,
                                    f"surge{args.seed}{tag}{label[:4]}",
                                    variant_meter,
                                    cores,
                                )
                                out["surge"].append({"code": label, **row})
                else:
                    if args.profile:
                        out.update(profile_rounds(args, env, clients[0], port, meter, postmaster, folder))
                    target = (os.environ["DATABASE_URL"], url.rsplit("/", 1)[1])
                    out["mixed"] = [
                        mixed_phase(clients[:n], meter, args.requests, args.seconds, target, cores, mix)
                        for mix in mixes
                        for n in phases
                    ]
            verify = subprocess.run(
                [LEGIONARY, "audit", "verify", "--json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=BOUND,
                check=False,
            )
            entries = json.loads(verify.stdout).get("entries") if verify.returncode == 0 else None
            print(f"\nlegionary audit verify after the run: exit {verify.returncode}, {entries} entries")
            out["audit_verify_exit"] = verify.returncode
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
