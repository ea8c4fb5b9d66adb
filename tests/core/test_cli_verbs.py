"""What `legionary` offers and refuses: no verb that empties data or changes staff behind the audit
log, staff accounts changed only through audited `staff` verbs, and a log whose loss shows.

Each test runs the installed console script in a subprocess, as an operator would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.instance import fresh_database, legionary_env, run_legionary, start_from_migrated

REMOVED = [
    "flush",
    "sqlflush",
    "runserver",
    "testserver",
    "createsuperuser",
    "changepassword",
    "loaddata",
    "dumpdata",
    "dbshell",
    "migrate",
    "diffsettings",
    "addstatictoken",
    "axes_reset_username",
    "makemigrations",
]


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dict[str, str]]:
    with fresh_database(migrated=True) as database_url:
        env = legionary_env(tmp_path / "home", database_url)
        start_from_migrated(env)
        done = run_legionary(env, "init")
        assert done.returncode == 0, done.stderr
        yield env


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One instance for the tests that must leave it as it was (the refused verbs)."""
    with fresh_database(migrated=True) as database_url:
        env = legionary_env(tmp_path_factory.mktemp("verbs") / "home", database_url)
        start_from_migrated(env)
        done = run_legionary(env, "init")
        assert done.returncode == 0, done.stderr
        assert run_legionary(env, "staff", "add", "olena", "--role", "auditor").returncode == 0
        yield env


def _audit_entries(env: dict[str, str]) -> list[tuple[str, str, dict[str, object]]]:
    code = (
        "import json; from legionary.audit.models import Entry; "
        "print(json.dumps([(e.actor, e.action, json.loads(bytes(e.body))['details']) "
        "for e in Entry.objects.order_by('index')]))"
    )
    done = run_legionary(env, "shell", "-v", "0", "-c", code)
    assert done.returncode == 0, done.stderr
    return [tuple(row) for row in json.loads(done.stdout.strip().splitlines()[-1])]  # type: ignore[misc]


def test_help_lists_only_legionary_verbs_and_the_kept_django_ones(shared: dict[str, str]) -> None:
    listed = run_legionary(shared, "--help")
    assert listed.returncode == 0
    verbs = {line.strip() for line in listed.stdout.splitlines() if line.startswith("    ")}
    assert {"init", "serve", "staff", "audit", "backup", "restore", "check", "shell"} <= verbs
    assert not verbs & set(REMOVED)


@pytest.mark.parametrize("verb", REMOVED)
def test_a_removed_django_verb_exits_2_with_a_sentence_and_does_nothing(shared: dict[str, str], verb: str) -> None:
    before = _audit_entries(shared)
    assert before  # the staff account's entry at least
    result = run_legionary(shared, verb, "--noinput")
    assert result.returncode == 2
    assert result.stderr.startswith("legionary: ") and len(result.stderr.strip().splitlines()) == 1
    assert f"`{verb}` is not a legionary command" in result.stderr
    assert "Traceback" not in result.stderr
    helped = run_legionary(shared, "help", verb)
    assert helped.returncode == 2 and "not a legionary command" in helped.stderr
    # Nothing was emptied: the log still holds what it held (the shell's read adds nothing).
    assert _audit_entries(shared) == before


def test_staff_password_and_unlock_are_audited_and_name_the_operator(instance: dict[str, str]) -> None:
    env = {**instance, "LEGIONARY_OPERATOR": "marta"}
    added = run_legionary(env, "staff", "add", "olena", "--role", "auditor", "--json")
    first = json.loads(added.stdout)["password"]
    changed = run_legionary(env, "staff", "password", "olena", "--json")
    assert changed.returncode == 0, changed.stderr
    second = json.loads(changed.stdout)["password"]
    assert second != first and len(second) >= 20
    unlocked = run_legionary(env, "staff", "unlock", "olena")
    assert unlocked.returncode == 0, unlocked.stderr
    entries = [(actor, action) for actor, action, _ in _audit_entries(env)]
    assert ("cli:marta", "staff.created") in entries
    assert ("cli:marta", "staff.password_reset") in entries
    assert ("cli:marta", "staff.unlocked") in entries
    assert all(actor != "cli" for actor, _ in entries)
    missing = run_legionary(env, "staff", "password", "nobody")
    assert missing.returncode == 2 and "no staff account named 'nobody'" in missing.stderr


def test_without_legionary_operator_the_entry_names_the_sudo_user(instance: dict[str, str]) -> None:
    env = {**instance, "SUDO_USER": "olena-admin"}
    env.pop("LEGIONARY_OPERATOR", None)
    assert run_legionary(env, "staff", "add", "petro", "--role", "auditor").returncode == 0
    assert ("cli:olena-admin", "staff.created") in [(a, b) for a, b, _ in _audit_entries(env)]


def test_an_emptied_audit_log_fails_verify_against_the_checkpoint_kept_beside_the_keyring(
    instance: dict[str, str],
) -> None:
    assert run_legionary(instance, "staff", "add", "olena", "--role", "auditor").returncode == 0
    signed = run_legionary(instance, "audit", "checkpoint")
    assert signed.returncode == 0, signed.stderr
    kept = Path(instance["LEGIONARY_HOME"]) / "audit-checkpoint"
    assert kept.read_text(encoding="utf-8") == signed.stdout
    assert run_legionary(instance, "audit", "verify").returncode == 0
    # What `flush` did, by hand: every audit table emptied with SQL.
    wipe = (
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    for t in ('audit_entry', 'audit_node', 'audit_checkpoint', 'audit_loghead'):\n"
        "        c.execute('DELETE FROM ' + t)\n"
    )
    assert run_legionary(instance, "shell", "-c", wipe).returncode == 0
    result = run_legionary(instance, "audit", "verify")
    assert result.returncode == 1
    assert f"the checkpoint kept at {kept}" in result.stdout
    assert "the log holds only 0 entries" in result.stdout
    as_json = json.loads(run_legionary(instance, "audit", "verify", "--json").stdout)
    assert as_json["ok"] is False and as_json["first_bad_checkpoint"] is not None


def test_a_log_that_disagrees_with_the_kept_checkpoint_fails_verify(instance: dict[str, str], tmp_path: Path) -> None:
    assert run_legionary(instance, "staff", "add", "olena", "--role", "auditor").returncode == 0
    assert run_legionary(instance, "audit", "checkpoint").returncode == 0
    # Rewrite the log from scratch with different entries of the same count, and a fresh head.
    wipe = (
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    for t in ('audit_entry', 'audit_node', 'audit_checkpoint', 'audit_loghead'):\n"
        "        c.execute('DELETE FROM ' + t)\n"
        "from legionary.audit.services import audit_record\n"
        "from django.db import transaction\n"
        "for n in range(3):\n"
        "    with transaction.atomic():\n"
        "        audit_record(actor='someone', action='login.success', details={'n': n})\n"
    )
    assert run_legionary(instance, "shell", "-c", wipe).returncode == 0
    result = run_legionary(instance, "audit", "verify")
    assert result.returncode == 1
    assert "the checkpoint kept at" in result.stdout
