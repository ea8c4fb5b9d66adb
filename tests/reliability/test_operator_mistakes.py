"""An operator's ordinary mistakes with backup and restore, answered in one or two sentences (exit 2),
and a restore that refuses, before writing anything, a keyring that cannot open the archive's keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.core.instance import fresh_database, legionary_env
from tests.reliability.conftest import Instance, MakeInstance, applications_file


def assert_sentence(stderr: str) -> None:
    assert stderr.startswith("legionary: ")
    assert "Traceback" not in stderr and "unexpected error" not in stderr
    assert len(stderr.strip().splitlines()) == 1


@pytest.fixture
def source(make_instance: MakeInstance, tmp_path: Path) -> Instance:
    instance = make_instance()
    instance.run("import", str(applications_file(tmp_path / "people.jsonl", 3)))
    assert instance.tool("attach")["stored"] == 3
    return instance


def test_a_backup_into_a_folder_that_does_not_exist_says_so(source: Instance, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    result = source.run("backup", str(missing / "a.backup"), check=False)
    assert result.returncode == 2
    assert_sentence(result.stderr)
    assert f"The folder {missing} does not exist" in result.stderr
    assert not missing.exists()


def test_a_private_backup_key_that_cannot_be_written_says_where_and_writes_no_key(
    make_instance: MakeInstance, tmp_path: Path
) -> None:
    instance = make_instance()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = instance.run("backup", "--init-key", "--private-key-out", str(blocker / "backup.key"), check=False)
    assert result.returncode == 2
    assert_sentence(result.stderr)
    assert f"Cannot write the private backup key to {blocker / 'backup.key'}" in result.stderr
    assert "--private-key-out" in result.stderr
    # Neither half was kept: a second try with a good path works.
    assert not (instance.home / "backup.pub").exists()
    good = instance.run("backup", "--init-key", "--private-key-out", str(tmp_path / "backup.key"))
    assert good.returncode == 0 and (tmp_path / "backup.key").exists()


def test_restore_help_works_where_nothing_is_initialised(tmp_path: Path) -> None:
    env = legionary_env(tmp_path / "nothing-here")
    result = Instance(home=tmp_path / "nothing-here", env=env).run("restore", "--help")
    assert "usage: legionary restore" in result.stdout
    assert not (tmp_path / "nothing-here").exists()


def test_restore_into_a_new_home_with_the_keys_but_no_database_creates_the_schema(
    source: Instance, tmp_path: Path
) -> None:
    before = source.tool("open-all")
    source.run("backup", str(tmp_path / "a.backup"))
    home = tmp_path / "new-home"
    home.mkdir(mode=0o700)
    for name in ("keyring", "audit-signing.key", "secret_key", "backup.pub", "erasures.journal"):
        if (source.home / name).exists():
            (home / name).write_bytes((source.home / name).read_bytes())
            (home / name).chmod(0o600)
    with fresh_database() as url:  # never initialised: no schema at all
        target = Instance(home=home, env=legionary_env(home, url))
        result = target.run(
            "restore", str(tmp_path / "a.backup"), "--key", str(source.home / "backup-private.key"), check=False
        )
        assert result.returncode == 0, result.stderr
        assert "intact" in target.run("audit", "verify").stdout
        after = target.tool("open-all")
    assert after["identities"] == before["identities"]
    assert after["documents"] == before["documents"]


def test_restore_refuses_a_keyring_from_before_keys_rotate_naming_the_missing_version_and_writes_nothing(
    source: Instance, make_instance: MakeInstance, tmp_path: Path
) -> None:
    # The target gets the keyring as it was before the rotation, as an operator who copied it then.
    target = make_instance(keys_from=source)
    source.run("keys", "rotate")
    source.run("backup", str(tmp_path / "after-rotate.backup"))
    target_before = target.tool("open-all")
    result = target.run(
        "restore", str(tmp_path / "after-rotate.backup"), "--key", str(source.home / "backup-private.key"), check=False
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "has no key-encryption key version 2" in result.stderr
    assert "Nothing was restored" in result.stderr
    # Nothing was written: the target's database is as it was, and its log records no restore.
    assert target.tool("open-all") == target_before
    verified = json.loads(target.run("audit", "verify", "--json").stdout)
    assert verified["ok"] is True
    # With the keyring saved after the rotation, the same archive restores.
    (target.home / "keyring").write_bytes((source.home / "keyring").read_bytes())
    target.run("restore", str(tmp_path / "after-rotate.backup"), "--key", str(source.home / "backup-private.key"))
    assert len(target.tool("open-all")["identities"]) == 3


def test_restore_sets_the_replaced_logs_kept_checkpoint_aside_and_verify_passes(
    source: Instance, make_instance: MakeInstance, tmp_path: Path
) -> None:
    source.run("backup", str(tmp_path / "a.backup"))
    target = make_instance(keys_from=source)
    for n in range(3):
        target.run("staff", "add", f"clerk{n}", "--role", "auditor")
    target.run("audit", "checkpoint")
    kept = target.home / "audit-checkpoint"
    assert kept.exists()
    target.run("restore", str(tmp_path / "a.backup"), "--key", str(source.home / "backup-private.key"))
    aside = list(target.home.glob("audit-checkpoint.before-restore-*"))
    assert len(aside) == 1
    assert kept.exists() and kept.read_text() != aside[0].read_text()
    assert "intact" in target.run("audit", "verify").stdout


def test_restore_refuses_another_instances_keyring_and_writes_nothing(
    source: Instance, make_instance: MakeInstance, tmp_path: Path
) -> None:
    source.run("backup", str(tmp_path / "a.backup"))
    target = make_instance(keys_from=source)
    stranger = make_instance()
    (target.home / "keyring").write_bytes((stranger.home / "keyring").read_bytes())
    result = target.run(
        "restore", str(tmp_path / "a.backup"), "--key", str(source.home / "backup-private.key"), check=False
    )
    assert result.returncode == 2
    assert "does not open this backup's data keys of key-encryption key version 1" in result.stderr
    assert "Nothing was restored" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert target.tool("open-all")["identities"] == {}
