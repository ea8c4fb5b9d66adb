"""docs/operations.md, section 8 "Backups and restore procedure", walked as written.

The shell blocks marked ``<!-- walk: live -->`` run on a live instance, then those marked
``<!-- walk: restore -->`` on a new machine, in a bash script run as root, exactly as the guide
prints them except for three things a test machine needs:

* the guide's ``legionary`` helper (``systemd-run --uid=legionary ... /opt/legionary/bin/legionary``)
  becomes ``runuser -u legionary -- env ... legionary`` with the same environment file and
  operator name (there is no systemd to run it here);
* the guide's folders (``/var/lib/legionary``, ``/var/backups/legionary``, ``/media/offline``)
  are folders under one temporary directory, and ``ARCHIVE.lgb`` is the archive the walk made;
* PostgreSQL is a throwaway server (tests/pgserver.py) with a ``legionary`` role.

The commands run as the service user ``legionary`` (created with ``useradd --system`` when
missing). Where this checkout's Python lives under /root (mode 0700), the walk runs in a private
mount namespace in which only that Python's folder is reachable under /root, so the service user
can run it, and nothing else under /root: as on a server, where the service user cannot write there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.core.instance import LEGIONARY
from tests.reliability.conftest import applications_file

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operations.md"
SECTION = "### Backups and restore procedure"
SERVICE_USER = "legionary"
BOUND = 600  # a guard on every subprocess, never a measurement


def walked_blocks(guide: str) -> list[tuple[str, str]]:
    """(phase, commands) of every ``sh`` block marked for walking in the section, in order."""
    section = guide.split(SECTION, 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"<!-- walk: (\w+) -->\s*\n(\s*)```sh\n(.*?)\n\s*```", section, flags=re.DOTALL)
    return [(phase, textwrap.dedent(indent + body)) for phase, indent, body in found]


def test_the_section_marks_its_commands_for_the_walk() -> None:
    blocks = walked_blocks(GUIDE.read_text(encoding="utf-8"))
    phases = [phase for phase, _ in blocks]
    assert phases == ["live", "live", "live", "restore"]
    every_line = "\n".join(body for _, body in blocks)
    # The places the walk below relies on, so that an edit of the guide cannot silently skip them.
    for needed in ("legionary backup --init-key", "legionary backup /var/backups", "createdb", "legionary init"):
        assert needed in every_line, needed
    assert "legionary restore /var/backups/legionary/ARCHIVE.lgb --key" in every_line
    assert "/root" not in every_line


def _ensure_service_user() -> None:
    if subprocess.run(["id", SERVICE_USER], capture_output=True, check=False).returncode == 0:
        return
    made = subprocess.run(
        [
            *("useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"),
            *("--shell", "/usr/sbin/nologin", SERVICE_USER),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # 9: made meanwhile by another test run.
    assert made.returncode in (0, 9), made.stderr


@dataclass
class Machine:
    root: Path
    port: int

    def folder(self, name: str) -> Path:
        return self.root / name

    def env_file(self, home: Path, database: str) -> Path:
        path = self.root / f"env-{database}"
        path.write_text(
            f"LEGIONARY_HOME={home}\nDATABASE_URL=postgres://{SERVICE_USER}@127.0.0.1:{self.port}/{database}\n",
            encoding="utf-8",
        )
        path.chmod(0o644)
        return path

    def script(self, commands: str, *, home: Path, env_file: Path, archive: str = "ARCHIVE.lgb") -> str:
        """A bash script: the guide's commands with the test machine's folders and helper."""
        mapped = (
            commands.replace("/var/lib/legionary", str(home))
            .replace("/var/backups/legionary", str(self.folder("backups")))
            .replace("/media/offline", str(self.folder("offline")))
            .replace("ARCHIVE.lgb", archive)
        )
        python_path = os.environ.get("PYTHONPATH", "")
        return (
            "set -euo pipefail\n"
            f"export PGHOST=127.0.0.1 PGPORT={self.port}\n"
            "legionary() {\n"
            "  ( umask 0077\n"
            f"    runuser -u {SERVICE_USER} -- env -i PATH=/usr/bin:/bin HOME=/nonexistent "
            f"PYTHONPATH={python_path} "
            '      LEGIONARY_OPERATOR="${SUDO_USER:-$(logname 2>/dev/null || id -un)}" '
            f'      $(cat {env_file}) {LEGIONARY} "$@" )\n'
            "}\n" + mapped + "\n"
        )

    def run(self, script: str) -> subprocess.CompletedProcess[str]:
        path = self.root / "walk.sh"
        path.write_text(script, encoding="utf-8")
        bash = ["bash", str(path)]
        python_home = Path(sys.executable).resolve().parents[1]
        if python_home.is_relative_to("/root"):
            top = Path("/root", python_home.relative_to("/root").parts[0])
            setup = (
                f"set -e; s=$(mktemp -d); mount --bind {top} $s; mount -t tmpfs -o mode=0755 tmpfs /root; "
                f"mkdir -p {top}; mount --bind $s {top}; exec bash {path}"
            )
            bash = ["unshare", "--mount", "--propagation", "private", "bash", "-c", setup]
        return subprocess.run(
            bash, capture_output=True, text=True, timeout=BOUND, check=False, env={**os.environ, "SUDO_USER": "walker"}
        )


@pytest.fixture
def machine() -> Iterator[Machine]:
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("runuser", "useradd", "unshare", "shred")):
        pytest.skip("the walk runs as root, with runuser, useradd, unshare and shred")
    from tests.pgserver import postgres_server

    _ensure_service_user()
    root = Path(tempfile.mkdtemp(prefix="legionary-walk-", dir="/tmp"))
    root.chmod(0o755)
    try:
        (root / "offline").mkdir(mode=0o700)  # the operator's offline medium: root's only
        with postgres_server() as url:
            port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
            created = subprocess.run(
                ["psql", url, "-v", "ON_ERROR_STOP=1", "-c", f"CREATE ROLE {SERVICE_USER} LOGIN"],
                capture_output=True,
                text=True,
                timeout=BOUND,
                check=False,
            )
            if created.returncode != 0 and shutil.which("psql") is None:
                pytest.skip("psql is not installed")
            assert created.returncode == 0, created.stderr
            subprocess.run(
                ["psql", url, "-c", f"CREATE DATABASE legionary_live OWNER {SERVICE_USER}"],
                capture_output=True,
                timeout=BOUND,
                check=True,
            )
            yield Machine(root=root, port=port)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_backup_and_restore_section_works_as_written_as_the_service_user(machine: Machine) -> None:
    blocks = walked_blocks(GUIDE.read_text(encoding="utf-8"))
    live_home = machine.folder("live")
    live_home.mkdir(mode=0o700)
    shutil.chown(live_home, SERVICE_USER, SERVICE_USER)
    people = applications_file(machine.root / "people.jsonl", 3, prefix="walk")
    people.chmod(0o644)
    live_env = machine.env_file(live_home, "legionary_live")

    # The live instance, then the guide's backup steps on it.
    setup = f"legionary init\nlegionary import {people}\n"
    # Finding 8: what the guide said before, as the service user: a plain sentence, exit 2.
    setup += (
        "if legionary backup --init-key --private-key-out /root/backup-private.key 2>"
        f"{machine.root}/root-key.err; then exit 97; fi\n"
    )
    live = "\n".join(body for phase, body in blocks if phase == "live")
    done = machine.run(machine.script(setup + live, home=live_home, env_file=live_env))
    assert done.returncode == 0, done.stdout + done.stderr
    refused = (machine.root / "root-key.err").read_text()
    assert refused.startswith("legionary: Cannot write the private backup key to /root/backup-private.key")
    assert "Traceback" not in refused and len(refused.strip().splitlines()) == 1
    assert not (live_home / "backup-private.key").exists()  # moved off, as the guide says
    assert (machine.folder("offline") / "backup-private.key").exists()
    archives = sorted(machine.folder("backups").glob("*.lgb"))
    assert len(archives) == 1
    assert oct(machine.folder("backups").stat().st_mode & 0o777) == "0o700"

    # A new machine: nothing but the offline medium and the archive.
    new_home = machine.folder("new")
    new_env = machine.env_file(new_home, "legionary")
    restore = "\n".join(body for phase, body in blocks if phase == "restore")
    done = machine.run(machine.script(restore, home=new_home, env_file=new_env, archive=archives[0].name))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Keyring: kept" in done.stdout and "Audit signing key: kept" in done.stdout
    assert "Signature verified" in done.stdout and "Restored backup" in done.stdout
    assert "The audit log is intact" in done.stdout
    assert not (new_home / "restore-private.key").exists()

    check = (
        "import json; from legionary.identity.models import Person; from legionary.audit.models import Entry; "
        "print(json.dumps([Person.objects.count(), "
        "list(Entry.objects.filter(action='backup.restored').values_list('actor', flat=True))]))"
    )
    shown = machine.run(machine.script(f"legionary shell -v 0 -c {check!r}", home=new_home, env_file=new_env))
    assert shown.returncode == 0, shown.stderr
    count, restorers = json.loads(shown.stdout.strip().splitlines()[-1])
    assert count == 3
    assert restorers == ["cli:walker"]
