"""The example systemd units in deploy/systemd: they parse, run real ``legionary`` verbs, and the
web service carries its hardening. ``systemd-analyze verify`` checks them where it is installed.

Every subprocess is bounded by ``BOUND``; nothing here starts a service.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands

from legionary.core.management.commands.serve import Command as ServeCommand

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
NGINX_SITE = ROOT / "deploy" / "nginx" / "legionary.conf"
INSTALLED_COMMAND = "/opt/legionary/bin/legionary"
BOUND = 60

Unit = dict[str, list[tuple[str, str]]]


def parse_unit(path: Path) -> Unit:
    """A unit file as systemd reads it: sections of (key, value) lines, keys may repeat."""
    sections: Unit = {}
    current: list[tuple[str, str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"{path.name}:{number}: a setting outside any section"
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key.strip()), f"{path.name}:{number}: {raw!r}"
        assert not raw.endswith("\\"), f"{path.name}:{number}: continued lines are not used here"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit: Unit, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def one(unit: Unit, section: str, key: str) -> str:
    found = values(unit, section, key)
    assert len(found) == 1, f"[{section}] {key}: {found}"
    return found[0]


def serve_arguments(exec_start: str) -> dict[str, object]:
    """The options `legionary serve` would run with, parsed by the real command's own parser."""
    argv = shlex.split(exec_start)
    assert argv[0] == INSTALLED_COMMAND and argv[1] == "serve", argv
    options = vars(ServeCommand().create_parser("legionary", "serve").parse_args(argv[2:]))
    return options


def test_every_unit_file_parses_with_its_expected_sections() -> None:
    files = sorted(UNITS.iterdir())
    assert [f.name for f in files] == [
        "legionary-backup.service",
        "legionary-backup.timer",
        "legionary-checkpoint.service",
        "legionary-checkpoint.timer",
        "legionary-report-refresh.service",
        "legionary-report-refresh.timer",
        "legionary.service",
    ]
    for path in files:
        unit = parse_unit(path)
        kind = "Service" if path.suffix == ".service" else "Timer"
        assert {"Unit", kind} <= set(unit), path.name
        if kind == "Timer":
            assert values(unit, "Install", "WantedBy") == ["timers.target"], path.name
            assert values(unit, "Timer", "Persistent") == ["yes"], path.name


def test_the_web_service_runs_legionary_serve_on_loopback_at_the_nginx_upstream() -> None:
    unit = parse_unit(UNITS / "legionary.service")
    options = serve_arguments(one(unit, "Service", "ExecStart"))
    assert options["host"] == "127.0.0.1"
    upstream = re.search(r"upstream legionary \{\s*server ([0-9.]+):(\d+);", NGINX_SITE.read_text(encoding="utf-8"))
    assert upstream is not None
    assert (options["host"], options["port"]) == (upstream.group(1), int(upstream.group(2)))
    assert one(unit, "Service", "EnvironmentFile") == "/etc/legionary/env"
    assert one(unit, "Service", "User") == one(unit, "Service", "Group") == "legionary"
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


def test_the_web_service_is_hardened_and_writes_only_under_legionary_home() -> None:
    unit = parse_unit(UNITS / "legionary.service")
    required = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ReadWritePaths": "/var/lib/legionary",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictSUIDSGID": "yes",
        "RestrictNamespaces": "yes",
        "LockPersonality": "yes",
        "CapabilityBoundingSet": "",
        "SystemCallFilter": "@system-service",
        "UMask": "0077",
    }
    for key, value in required.items():
        assert values(unit, "Service", key) == [value], key
    assert set(one(unit, "Service", "RestrictAddressFamilies").split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}


@pytest.mark.parametrize(
    ("unit_name", "verb"),
    [("legionary-backup.service", ["backup"]), ("legionary-checkpoint.service", ["audit", "checkpoint"])],
)
def test_the_timer_services_run_existing_legionary_verbs(unit_name: str, verb: list[str]) -> None:
    unit = parse_unit(UNITS / unit_name)
    assert one(unit, "Service", "Type") == "oneshot"
    assert one(unit, "Service", "EnvironmentFile") == "/etc/legionary/env"
    assert one(unit, "Service", "User") == "legionary"
    assert values(unit, "Service", "NoNewPrivileges") == ["yes"]
    assert values(unit, "Service", "ProtectSystem") == ["strict"]
    argv = shlex.split(one(unit, "Service", "ExecStart"))
    assert argv[:2] == ["/bin/sh", "-c"]
    script = shlex.split(argv[2])
    assert script[:2] == ["exec", INSTALLED_COMMAND]
    assert script[2 : 2 + len(verb)] == verb
    assert verb[0] in get_commands()
    # Its output folder is writable under ProtectSystem=strict.
    written = re.search(r'"(/var/[^"$]+)/\$\(date', argv[2])
    assert written is not None
    writable = [w.removeprefix("-") for w in one(unit, "Service", "ReadWritePaths").split()]
    assert any(written.group(1) == w or written.group(1).startswith(w + "/") for w in writable), writable
    # ...and exists: made by the unit itself before the verb runs (below /var/lib/legionary, or
    # with full privileges where the service user could not make it), owned by the service user.
    made = [shlex.split(v.removeprefix("+")) for v in values(unit, "Service", "ExecStartPre")]
    folder = written.group(1)
    assert [folder] in [m[-1:] for m in made if m[0] in ("/bin/mkdir", "/usr/bin/install")], made
    if not folder.startswith("/var/lib/legionary"):
        install = next(m for m in made if m[-1] == folder)
        assert install[:2] == ["/usr/bin/install", "-d"] and "legionary" in install, install
        assert any(v.startswith("+") for v in values(unit, "Service", "ExecStartPre"))


def test_the_units_named_in_the_operations_guide_are_the_units_shipped() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`deploy/systemd/(legionary[a-z-]*)\.(?:service|\{service,timer\})`", guide))
    shipped = {p.stem for p in UNITS.iterdir()}
    assert named == shipped


def test_the_report_refresh_service_runs_the_real_verb_with_accepted_options() -> None:
    unit = parse_unit(UNITS / "legionary-report-refresh.service")
    assert one(unit, "Service", "Type") == "oneshot"
    assert one(unit, "Service", "User") == "legionary"
    assert values(unit, "Service", "ProtectSystem") == ["strict"]
    argv = shlex.split(one(unit, "Service", "ExecStart"))
    assert argv[:3] == [INSTALLED_COMMAND, "report", "refresh"]
    from legionary.reports.management.commands.report import Command as ReportCommand

    # The real command's parser accepts the options the unit passes.
    ReportCommand().create_parser("legionary", "report").parse_args(argv[2:])
    timer = parse_unit(UNITS / "legionary-report-refresh.timer")
    assert one(timer, "Timer", "OnCalendar") == "*:0/15"


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (it comes with systemd)")
    # verify checks that ExecStart's program exists: point it at this checkout's command.
    legionary = Path(sys.executable).with_name("legionary")
    for path in sorted(UNITS.iterdir()):
        (tmp_path / path.name).write_text(
            path.read_text(encoding="utf-8").replace(INSTALLED_COMMAND, str(legionary)), encoding="utf-8"
        )
    units = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run(
        [analyze, "verify", "--man=no", *units], capture_output=True, text=True, timeout=BOUND, check=False
    )
    assert result.returncode == 0, result.stderr
    about_ours = [line for line in result.stderr.splitlines() if "legionary" in line]
    assert about_ours == [], result.stderr
