"""A served instance losing its resources: the disk filling up during an upload and (PostgreSQL
only) the database going away under load. Each answer is a clear page, never a traceback, and
nothing is half-stored; the server recovers without a restart.

Every subprocess and request wait is bounded (``BOUND``, urllib timeouts); none is asserted on.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.core.instance import served
from tests.intake.helpers import PDF, application
from tests.reliability.conftest import BOUND, MakeInstance


def _request(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 — our own loopback server
            return int(response.status), bytes(response.read()), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read()), dict(exc.headers)


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "----legionary" + secrets.token_hex(8)
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@contextmanager
def _tmpfs(directory: Path, size: str) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    directory.mkdir(mode=0o700, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False, timeout=60)


def test_a_full_disk_during_an_upload_gives_a_clear_507_and_stores_nothing(
    make_instance: MakeInstance, tmp_path: Path
) -> None:
    instance = make_instance(LEGIONARY_HTTPS="0")
    with _tmpfs(instance.home / "uploads", "2m") as uploads, served(instance.env, tmp_path / "serve.log") as server:
        _status, page, headers = _request(server.base_url + "/apply/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        cookie = headers["Set-Cookie"].split(";")[0]
        fields = {
            "legion": "geo",
            "given_names": "Quirinus",
            "family_name": "Zhgentiklashvili",
            "date_of_birth": "1988-11-02",
            "citizenships": "GE",
            "consent": "on",
            "csrfmiddlewaretoken": token.group(1).decode(),
        }
        big_scan = PDF + os.urandom(3 * 1024 * 1024)  # more than the 2 MiB the disk has
        body, content_type = _multipart(fields, {"upload_1": ("scan.pdf", big_scan)})
        status, page, _headers = _request(
            server.base_url + "/apply/", body, {"Content-Type": content_type, "Cookie": cookie}
        )
        assert status == 507, page[:500]
        assert b"the server&#x27;s disk is full" in page or b"the server's disk is full" in page
        assert b"Traceback" not in page
        assert [p for p in uploads.rglob("*") if p.is_file()] == [], "a partial file was left behind"

        # With room again (a small scan), the same form goes through: the failure left no trace.
        body, content_type = _multipart(fields, {"upload_1": ("scan.pdf", PDF)})
        status, _page, _headers = _request(
            server.base_url + "/apply/", body, {"Content-Type": content_type, "Cookie": cookie}
        )
        assert status == 200  # sent: urllib followed the 303 to the confirmation page
    state = instance.tool("integrity")
    assert state["people"] == 1
    for key in ("without_identity", "without_case", "without_index", "without_audit"):
        assert state[key] == [], key
    assert "application.received" in instance.tool("audit-actions")["actions"]


def _pg_ctl(*args: str) -> None:
    as_postgres = os.environ["LEGIONARY_TEST_PGAS"].split()
    command = [*as_postgres, os.environ["LEGIONARY_TEST_PGCTL"], "-D", os.environ["LEGIONARY_TEST_PGDATA"], *args]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=BOUND)


@pytest.mark.skipif(not os.environ.get("LEGIONARY_TEST_PGDATA"), reason="PostgreSQL only (python -m tests.pgserver)")
def test_the_database_going_away_under_load_gives_503_pages_and_service_resumes_without_restart(
    make_instance: MakeInstance, tmp_path: Path
) -> None:
    from django.db import connections

    instance = make_instance(LEGIONARY_HTTPS="0")
    statuses: dict[str, Counter[int]] = {"up": Counter(), "down": Counter(), "back": Counter()}
    phase = "up"
    bad_pages: list[bytes] = []
    stop = threading.Event()
    lock = threading.Lock()

    with served(instance.env, tmp_path / "serve.log") as server:

        def client(number: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                body = json.dumps(application(external_ref=f"db-{number}-{n}")).encode()
                status, page, _headers = _request(
                    server.base_url + "/api/v1/applications", body, {"Content-Type": "application/json"}
                )
                with lock:
                    statuses[phase][status] += 1
                    if status >= 500 and (status != 503 or b"Traceback" in page):
                        bad_pages.append(page[:300])
                time.sleep(0.05)

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(3)]
        for thread in threads:
            thread.start()
        try:
            _wait_for(lambda: statuses["up"][201] >= 3)
            connections.close_all()  # this process's own connection would not survive the stop either
            _pg_ctl("-m", "fast", "-w", "stop")
            with lock:
                phase = "down"
            _wait_for(lambda: statuses["down"][503] >= 3)
            page_status, page, headers = _request(
                server.base_url + "/api/v1/applications/status",
                b'{"receipt": "a b c"}',
                {"Content-Type": "application/json"},
            )
            assert page_status == 503 and headers.get("Retry-After") == "30", page[:300]
            assert b"cannot reach its database" in page and b"Traceback" not in page
            _pg_ctl(
                "-o", os.environ["LEGIONARY_TEST_PGOPTIONS"], "-l", os.environ["LEGIONARY_TEST_PGLOG"], "-w", "start"
            )
            with lock:
                phase = "back"
            _wait_for(lambda: statuses["back"][201] >= 3)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=BOUND)
            if (
                subprocess.run(  # never leave the suite's server stopped
                    [
                        *os.environ["LEGIONARY_TEST_PGAS"].split(),
                        os.environ["LEGIONARY_TEST_PGCTL"],
                        "-D",
                        os.environ["LEGIONARY_TEST_PGDATA"],
                        "status",
                    ],
                    stdout=subprocess.DEVNULL,
                    check=False,
                    timeout=BOUND,
                ).returncode
                != 0
            ):
                _pg_ctl(
                    "-o",
                    os.environ["LEGIONARY_TEST_PGOPTIONS"],
                    "-l",
                    os.environ["LEGIONARY_TEST_PGLOG"],
                    "-w",
                    "start",
                )
        assert _request(server.base_url + "/healthz")[0] == 200
    print({name: dict(counts) for name, counts in statuses.items()})
    assert bad_pages == [], bad_pages
    assert all(code < 500 or code == 503 for counts in statuses.values() for code in counts), statuses
    assert statuses["down"][503] >= 3 and statuses["back"][201] >= 3
    state = instance.tool("integrity")
    for key in ("without_identity", "without_case", "without_index", "without_audit"):
        assert state[key] == [], key


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, "the load never reached this point"
        time.sleep(0.1)
