"""Real instances for tests that run ``legionary`` as a user would: a subprocess, production settings.

Each instance has its own LEGIONARY_HOME in a temporary folder and, when the suite runs on
PostgreSQL (DATABASE_URL set by ``tests.pgserver``), its own database on that server, dropped
afterwards. ``tests.settings`` is never passed on: the subprocess reads ``legionary.settings``.

Nothing here may touch the in-process suite's test database or leave a server running.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

LEGIONARY = str(Path(sys.executable).with_name("legionary"))
# A bound on waiting for a server to come up, so a broken server fails the run instead of hanging
# it; it is not a performance assertion.
STARTUP_BOUND_SECONDS = 60


def legionary_env(home: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a ``legionary`` subprocess: production settings over ``home``."""
    dropped = {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "LEGIONARY_HTTPS", "LEGIONARY_DEBUG", "LEGIONARY_KEYRING"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(LEGIONARY_HOME=str(home), PYTHONUNBUFFERED="1")
    # Instances under test take many applications from one loopback client; tests of the limit set it.
    env.setdefault("LEGIONARY_APPLY_LIMIT", "1000000")
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


def run_legionary(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LEGIONARY, *args], env=env, capture_output=True, text=True, check=False)


# Migrated databases, made once per run of the suite (see ``migrated_template``): on SQLite the
# file, on PostgreSQL the database's name on the suite's server.
_MIGRATED: dict[str, str] = {}


def migrated_template() -> str:
    """An empty database that ``legionary init`` has migrated, made once per run by the real
    ``legionary init`` in a throwaway home: on SQLite its file, on PostgreSQL its name.

    init writes nothing to the database but its migrations (the schema and the rows the data
    migrations add); its keyring and signing key go to the home. So an instance whose database
    starts as a copy of this one, after its own ``legionary init`` (which still runs and makes its
    own keys), is what init on an empty database makes, without applying every migration again:
    about three seconds of each instance's start. Tests of init itself start from empty databases.
    """
    admin_url = os.environ.get("DATABASE_URL") or ""
    if admin_url not in _MIGRATED:
        root = Path(tempfile.mkdtemp(prefix="legionary-migrated-"))
        atexit.register(shutil.rmtree, root, True)
        url = None
        if admin_url:
            # Left on the suite's server, which is removed at the end of the run.
            name = f"migrated_{secrets.token_hex(6)}"
            url = _create_database(admin_url, name)
        done = run_legionary(legionary_env(root / "home", url), "init")
        if done.returncode != 0:
            raise RuntimeError(f"legionary init of the migrated template failed:\n{done.stderr}")
        _MIGRATED[admin_url] = name if admin_url else str(root / "home" / "legionary.sqlite3")
    return _MIGRATED[admin_url]


def _create_database(admin_url: str, name: str, template: str | None = None) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def start_from_migrated(env: dict[str, str]) -> None:
    """Before ``legionary init`` of an instance that a test uses rather than tests: on SQLite, puts a
    copy of the migrated template (``migrated_template``) where the instance's database goes; on
    PostgreSQL, ``fresh_database(migrated=True)`` has made the database such a copy already."""
    if env.get("DATABASE_URL"):
        return
    home = Path(env["LEGIONARY_HOME"])
    database = home / "legionary.sqlite3"
    if not database.exists():
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copy(migrated_template(), database)


@contextmanager
def fresh_database(*, migrated: bool = False) -> Iterator[str | None]:
    """A new, empty PostgreSQL database on the suite's server (dropped afterwards), or None on SQLite.

    ``migrated``: a copy of the migrated template instead of an empty one (``migrated_template``).
    """
    admin_url = os.environ.get("DATABASE_URL")
    if not admin_url:
        yield None
        return

    name = f"cli_{secrets.token_hex(6)}"
    _create_database(admin_url, name, migrated_template() if migrated else None)
    parts = urlsplit(admin_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    finally:
        drop_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str) -> tuple[int, bytes]:
    """Status and body of a plain GET, including error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 — our own loopback URL
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


class ServerFailed(Exception):
    """``legionary serve`` exited or never answered; the message holds its output."""


@dataclass
class Served:
    base_url: str
    log: Path


@contextmanager
def served(env: dict[str, str], log: Path) -> Iterator[Served]:
    """Runs ``legionary serve`` on a free loopback port until the block ends; waits for /healthz."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [LEGIONARY, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_BOUND_SECONDS
        while True:
            if server.poll() is not None:
                output = log.read_text(errors="replace")
                raise ServerFailed(f"legionary serve exited with {server.returncode}:\n{output}")
            try:
                if http_get(base_url + "/healthz")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise ServerFailed(f"legionary serve did not answer /healthz:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield Served(base_url=base_url, log=log)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
