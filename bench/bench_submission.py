"""Where one public submission's cost goes (a script: it prints, never asserts speed).

Submits ``--runs`` applications through Django's test client, as ``bench/load.py --surge`` does over
HTTP, on each of the two public paths:

* form: ``POST /apply/`` with every field filled in and a one-page PDF scan (multipart), which
  answers a 303 to the confirmation page;
* API:  ``POST /api/v1/applications`` with the JSON of contract/application.schema.json (no upload).

For each path it prints the SQL statements per submission (``CaptureQueriesContext``, grouped by
kind and table), the CPU per submission of this process and of the document sandbox's processes
(the fork server or zygote and its children, read from /proc), and a cProfile (CPU clock) of the
submissions split into named parts. A last line times the sandbox alone: one check of the same PDF,
and a no-op round trip when the sandbox offers one.

    python -m tests.pgserver -- python bench/bench_submission.py [--runs 40]

Runs in a fresh temporary LEGIONARY_HOME (SQLite unless ``DATABASE_URL`` is set), removed at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
# What the `legionary` script (gunicorn's __main__ under `legionary serve`) imports at its top, and
# nothing more at module level: multiprocessing's fork server runs the main module again in every
# child it starts, so the sandbox's cost measured here is what the service pays.
import legionary.cli  # noqa: E402, F401

if TYPE_CHECKING:
    from django.test import Client


def setup() -> None:
    os.environ["LEGIONARY_HOME"] = str(HOME)
    for variable in (
        "LEGIONARY_KEYRING",
        "LEGIONARY_AUDIT_KEY",
        "LEGIONARY_SECRET_KEY_FILE",
        "LEGIONARY_KEYRING_PASSPHRASE",
    ):
        os.environ.pop(variable, None)  # never reach a real keyring, audit key or secret
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["LEGIONARY_APPLY_LIMIT"] = "100000000"
    os.environ["LEGIONARY_HTTPS"] = "0"  # loopback, as bench/load.py serves
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's host, as pytest-django adds


# BENCH_TOP=N also prints the N functions of most own time (BENCH_SORT=cumulative: of most time in all).
TOP = int(os.environ.get("BENCH_TOP", "0"))
HOME = Path(tempfile.gettempdir()) / f"legionary-bench-submission-{os.getpid()}"

# The parts of a submission, each a function whose cumulative CPU time cProfile reports: (label,
# file suffix, function name). They nest (the service inside the view); the table says which.
PARTS = [
    ("whole request (Django test client)", "django/test/client.py", "post"),
    ("  multipart parse (request.POST/FILES)", "django/http/request.py", "_load_post_and_files"),
    ("  form: step forms + whole form validated", "intake/views.py", "_apply_at_once"),
    ("    drafts (load, save, take)", "intake/drafts.py", "save"),
    ("  API: body decoded and validated", "intake/schema.py", "validate_application"),
    ("  application_submit (the service)", "intake/services.py", "application_submit"),
    ("    document_check (sandbox, parent side)", "identity/services.py", "document_check"),
    ("    person_seal (seal + blind indexes)", "identity/services.py", "person_seal"),
    ("    _count_submission (rate limit)", "intake/services.py", "_count_submission"),
    ("    person_create (rows, no audit)", "identity/services.py", "person_create"),
    ("      choose_call_sign", "identity/services.py", "choose_call_sign"),
    ("    document_store (encrypt + row)", "identity/services.py", "document_store"),
    ("    _screen (duplicates)", "intake/services.py", "_screen"),
    ("    screen_people (designation lists)", "vetting/screening.py", "screen_people"),
    ("    audit_record_many (the one append)", "audit/services.py", "audit_record_many"),
    ("  middleware before the view (sessions, auth, limits)", "django/utils/deprecation.py", "__call__"),
]

STATEMENT = re.compile(
    r'^\s*(SELECT|INSERT|UPDATE|DELETE|SAVEPOINT|RELEASE|ROLLBACK)\b.*?(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.I | re.S
)


def classify(sql: str) -> str:
    many = re.match(r"^(\d+) times: ", sql)
    if many:
        return "executemany: " + classify(sql[many.end() :])
    if sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")):
        return "SAVEPOINT/RELEASE"
    update = re.match(r'^\s*UPDATE\s+"?(\w+)"?', sql, re.I)
    if update:
        return f"UPDATE {update.group(1)}"
    found = STATEMENT.match(sql)
    if found:
        return f"{found.group(1).upper()} {found.group(2)}"
    return sql.split()[0].upper()


def sandbox_cpu() -> float:
    """CPU seconds of this process's descendants (the sandbox's server and its reaped children)."""
    from bench.load import tree_cpu

    own = os.times()
    return tree_cpu(os.getpid()) - (own.user + own.system)


def postgres_cpu() -> float:
    """CPU seconds of the PostgreSQL server so far (``python -m tests.pgserver`` names its data
    directory in the environment), or NaN."""
    from bench.load import tree_cpu

    data = os.environ.get("LEGIONARY_TEST_PGDATA")
    pid_file = Path(data, "postmaster.pid") if data else None
    if pid_file is None or not pid_file.exists():
        return float("nan")
    return tree_cpu(int(pid_file.read_text().split()[0]))


def visit(client: Client, number: int) -> int:
    """A whole applicant's visit, as bench/load.py --surge makes it: the form page, the POST, and
    the confirmation page with the receipt; the POST's status (303) unless a page failed."""
    page = client.get("/apply/?lang=en")
    if page.status_code != 200:
        return page.status_code
    status = submit_form(client, number)
    shown = client.get("/apply/sent/?lang=en")
    if shown.status_code != 200 or b'id="receipt"' not in shown.content:
        return shown.status_code or 500
    return status


def submit_form(client: Client, number: int) -> int:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bench.load import form_fields, small_pdf

    fields: dict[str, Any] = dict(form_fields(number, "bench"))
    fields["upload_1"] = SimpleUploadedFile("passport.pdf", small_pdf(f"bench{number}"), "application/pdf")
    return client.post("/apply/?lang=en", fields).status_code


def submit_api(client: Client, number: int) -> int:
    import json

    from bench.load import synthetic

    body = json.dumps(synthetic(number, "bench-api"))
    return client.post("/api/v1/applications", body, content_type="application/json").status_code


def measure(name: str, send: Any, expected: int, runs: int, start: int) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    for n in range(5):  # warm: caches, the sandbox's server
        status = send(client, start + n)
        if status != expected:
            raise SystemExit(f"{name}: warm-up submission answered {status}, not {expected}")
    counts: Counter[str] = Counter()
    total_statements = sent_statements = 0
    cpu0, child0, pg0, wall0 = time.process_time(), sandbox_cpu(), postgres_cpu(), time.perf_counter()
    for n in range(runs):
        # A new visitor each time, as in load.py: no cookies. One client, so that Django's handler
        # (its middleware) is loaded once, as a server loads it, not once per visitor.
        client.cookies = SimpleCookie()
        with CaptureQueriesContext(connection) as queries:
            status = send(client, start + 100 + n)
        if status != expected:
            raise SystemExit(f"{name}: submission answered {status}, not {expected}")
        total_statements += len(queries.captured_queries)
        for query in queries.captured_queries:
            many = re.match(r"^(\d+) times: ", query["sql"])
            sent_statements += int(many.group(1)) if many else 1
        counts.update(classify(q["sql"]) for q in queries.captured_queries)
    cpu, child, wall = time.process_time() - cpu0, sandbox_cpu() - child0, time.perf_counter() - wall0
    pg = postgres_cpu() - pg0
    print(f"\n== {name}: {runs} submissions ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})")
    print(
        f"SQL statements per submission: {total_statements / runs:.1f} sent by Django (an executemany once), "
        f"{sent_statements / runs:.1f} run by the server (each row of an executemany)"
    )
    for kind, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {count / runs:5.1f}  {kind}")
    print(
        f"CPU per submission: this process {cpu / runs * 1000:.1f} ms (the test client's share included, its "
        "handler loaded once), "
        f"sandbox processes {child / runs * 1000:.1f} ms, PostgreSQL {pg / runs * 1000:.1f} ms; "
        f"wall {wall / runs * 1000:.1f} ms"
    )
    profile = cProfile.Profile(time.process_time)
    for n in range(runs):
        client.cookies = SimpleCookie()
        profile.enable()
        status = send(client, start + 1000 + n)
        profile.disable()
    stats = pstats.Stats(profile)
    table: dict[tuple[str, str], float] = {}
    for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        for _label, suffix, wanted in PARTS:
            if function == wanted and filename.endswith(suffix):
                table[(suffix, wanted)] = max(table.get((suffix, wanted), 0.0), cumulative)
    print("CPU per submission by part (a second pass under cProfile, which about doubles every figure):")
    for label, suffix, wanted in PARTS:
        if (suffix, wanted) in table:
            print(f"  {table[(suffix, wanted)] / runs * 1000:7.2f} ms  {label}")
    if TOP:
        stats.sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(TOP)


def sandbox_alone(runs: int) -> None:
    from bench.load import small_pdf
    from legionary.identity import documents

    pdf = small_pdf("alone")
    documents.inspect_upload(pdf, "application/pdf")
    cpu0, child0, wall0 = time.process_time(), sandbox_cpu(), time.perf_counter()
    for n in range(runs):
        documents.inspect_upload(small_pdf(f"alone{n}"), "application/pdf")
    cpu, child, wall = time.process_time() - cpu0, sandbox_cpu() - child0, time.perf_counter() - wall0
    in_process = time.process_time()
    for n in range(runs):
        documents._inspect(small_pdf(f"alone{n}"), documents.PDF, documents.DEFAULT_LIMITS)
    decode = time.process_time() - in_process
    print(
        f"\nSandbox alone, the same one-page PDF, {runs} checks: wall {wall / runs * 1000:.1f} ms, CPU of this "
        f"process {cpu / runs * 1000:.2f} ms, of the sandbox's processes {child / runs * 1000:.1f} ms; "
        f"the same decoding in process {decode / runs * 1000:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    HOME.mkdir(mode=0o700)
    setup()
    from django.core.management import call_command

    from legionary.audit.services import signing_key_init
    from legionary.identity import services

    call_command("migrate", verbosity=0)
    services.keyring_init()
    signing_key_init()
    measure("form: POST /apply/ with every field and a one-page PDF", submit_form, 303, args.runs, 0)
    measure("API: POST /api/v1/applications (JSON, no upload)", submit_api, 201, args.runs, 10_000)
    measure(
        "visit: GET /apply/, POST /apply/ (as above), GET /apply/sent/ (the receipt)", visit, 303, args.runs, 20_000
    )
    sandbox_alone(args.runs)


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(HOME, ignore_errors=True)
