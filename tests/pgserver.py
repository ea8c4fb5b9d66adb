"""Runs a command against a throwaway PostgreSQL server: ``python -m tests.pgserver -- CMD...``.

The server is Debian's PostgreSQL, started in a temporary data directory on a free loopback port
and stopped (and its directory removed) when the command ends. As root, ``initdb`` and ``pg_ctl``
run as the ``postgres`` user through ``runuser``, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise SystemExit(f"PostgreSQL's {name} was not found; run `make system-deps` (apt-get install postgresql).")
    return found[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def postgres_server(password: str | None = None, *, announce: bool = False) -> Iterator[str]:
    """Yields a DATABASE_URL for a superuser on a fresh server (with ``password``: one that asks
    for it, scram-sha-256, and a URL that carries it percent-encoded). With ``announce`` (the
    suite's own server, from ``main``), its data directory and pg_ctl options go into the
    environment for the tests that stop and start it; a server a test starts for itself never
    does, or the suite's would be forgotten and that test's removed directory named instead."""
    root = Path(tempfile.mkdtemp(prefix="legionary-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    port = _free_port()
    log = root / "server.log"
    try:
        auth = ["-A", "trust"]
        if password is not None:
            pwfile = root / "pwfile"
            pwfile.write_text(password + "\n", encoding="utf-8")
            if os.geteuid() == 0:
                shutil.chown(pwfile, "postgres", "postgres")
            auth = ["-A", "scram-sha-256", f"--pwfile={pwfile}"]
        subprocess.run(
            _as_postgres([_bin("initdb"), "-D", str(data), "-U", "postgres", *auth, "--no-sync", "-E", "UTF8"]),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        options = (
            f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            _as_postgres([_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # For tests that stop and start the server under load (tests/reliability/test_resources.py).
        os.environ.update(
            {}
            if not announce
            else dict(
                LEGIONARY_TEST_PGDATA=str(data),
                LEGIONARY_TEST_PGCTL=_bin("pg_ctl"),
                LEGIONARY_TEST_PGOPTIONS=options,
                LEGIONARY_TEST_PGLOG=str(log),
                LEGIONARY_TEST_PGAS=" ".join(_as_postgres([])),
            )
        )
        if password is not None:
            from urllib.parse import quote

            yield f"postgres://postgres:{quote(password, safe='')}@127.0.0.1:{port}/postgres"
            return
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        if data.exists():
            subprocess.run(
                _as_postgres([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str]) -> int:
    if "--" not in argv:
        sys.stderr.write("usage: python -m tests.pgserver -- COMMAND [ARGS...]\n")
        return 2
    cmd = argv[argv.index("--") + 1 :]
    with postgres_server(announce=True) as url:
        env = dict(os.environ, DATABASE_URL=url)
        print(f"PostgreSQL test server at {url}", flush=True)
        proc = subprocess.Popen(cmd, env=env)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            return proc.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
