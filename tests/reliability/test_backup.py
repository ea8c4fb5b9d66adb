"""Backups: made while the instance is live, restored elsewhere with the same keyring, refused when
tampered with, truncated or foreign, and never bringing an erased person back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reliability.conftest import Instance, MakeInstance, applications_file


@pytest.fixture
def source(make_instance: MakeInstance, tmp_path: Path) -> Instance:
    """An instance with six imported people, each with an encrypted document."""
    instance = make_instance()
    instance.run("import", str(applications_file(tmp_path / "people.jsonl", 6)))
    assert instance.tool("attach")["stored"] == 6
    return instance


def _backup(instance: Instance, path: Path) -> dict[str, object]:
    result = instance.run("backup", str(path), "--json")
    manifest: dict[str, object] = json.loads(result.stdout)
    return manifest


def test_a_restored_instance_verifies_and_opens_every_identity_and_document(
    source: Instance, make_instance: MakeInstance, tmp_path: Path
) -> None:
    before = source.tool("open-all")
    manifest = _backup(source, tmp_path / "a.backup")
    assert manifest["keyring_included"] is False
    assert "NOT in the backup" in source.run("backup", str(tmp_path / "b.backup")).stdout

    target = make_instance(keys_from=source)
    target.run("restore", str(tmp_path / "a.backup"), "--key", str(source.home / "backup-private.key"))

    assert "intact" in target.run("audit", "verify").stdout
    after = target.tool("open-all")
    assert after["identities"] == before["identities"]
    assert after["documents"] == before["documents"]
    assert len(after["documents"]) == 6


def test_an_erasure_made_after_the_backup_is_reapplied_on_restore(
    source: Instance, make_instance: MakeInstance, tmp_path: Path
) -> None:
    _backup(source, tmp_path / "a.backup")
    victim = sorted(source.tool("open-all")["identities"])[0]
    source.run("erase", victim, "--reason", "asked to be forgotten")
    journal = (source.home / "erasures.journal").read_text()
    assert victim in journal
    assert "Zebulon" not in journal

    target = make_instance(keys_from=source)
    result = target.run("restore", str(tmp_path / "a.backup"), "--key", str(source.home / "backup-private.key"))
    assert "1 later erasures re-applied" in result.stdout

    opened = target.tool("open-all")
    assert victim in opened["erased"]
    assert victim not in opened["identities"]
    assert len(opened["identities"]) == 5
    assert len(opened["documents"]) == 5
    assert "intact" in target.run("audit", "verify").stdout


def _flip(data: bytes, where: int) -> bytes:
    changed = bytearray(data)
    changed[where] ^= 0x01
    return bytes(changed)


@pytest.mark.parametrize("where", ["magic", "header", "first chunk", "middle", "manifest", "signature"])
def test_a_backup_with_any_flipped_byte_is_refused_before_anything_is_written(
    source: Instance, make_instance: MakeInstance, tmp_path: Path, where: str
) -> None:
    _backup(source, tmp_path / "a.backup")
    data = (tmp_path / "a.backup").read_bytes()
    positions = {
        "magic": 3,
        "header": 30,
        "first chunk": 300,
        "middle": len(data) // 2,
        "manifest": len(data) - 200,
        "signature": len(data) - 10,
    }
    (tmp_path / "bad.backup").write_bytes(_flip(data, positions[where]))
    target = make_instance(keys_from=source)

    result = target.run(
        "restore", str(tmp_path / "bad.backup"), "--key", str(source.home / "backup-private.key"), check=False
    )

    assert result.returncode == 1
    assert "nothing was restored" in result.stderr
    assert "Traceback" not in result.stderr
    assert target.tool("integrity")["people"] == 0
    assert not [p for p in target.home.iterdir() if p.name.startswith(".restore-")]


def test_a_truncated_backup_is_refused_with_a_sentence_saying_so(
    source: Instance, make_instance: MakeInstance, tmp_path: Path
) -> None:
    _backup(source, tmp_path / "a.backup")
    data = (tmp_path / "a.backup").read_bytes()
    target = make_instance(keys_from=source)
    for length in (10, len(data) // 3, len(data) - 65, len(data) - 1):
        (tmp_path / "cut.backup").write_bytes(data[:length])
        result = target.run(
            "restore", str(tmp_path / "cut.backup"), "--key", str(source.home / "backup-private.key"), check=False
        )
        assert result.returncode == 1, length
        assert "nothing was restored" in result.stderr
    assert target.tool("integrity")["people"] == 0


def test_a_backup_signed_by_another_instance_is_refused_as_foreign(
    source: Instance, make_instance: MakeInstance, tmp_path: Path
) -> None:
    _backup(source, tmp_path / "a.backup")
    stranger = make_instance()  # its own keyring and audit signing key

    result = stranger.run(
        "restore", str(tmp_path / "a.backup"), "--key", str(source.home / "backup-private.key"), check=False
    )

    assert result.returncode == 1
    assert "another instance" in result.stderr
    assert stranger.tool("integrity")["people"] == 0


def test_a_backup_cannot_be_opened_with_another_backup_key(
    source: Instance, make_instance: MakeInstance, tmp_path: Path
) -> None:
    _backup(source, tmp_path / "a.backup")
    other = make_instance()
    other.run("backup", "--init-key", "--private-key-out", str(tmp_path / "other.key"))
    target = make_instance(keys_from=source)

    result = target.run("restore", str(tmp_path / "a.backup"), "--key", str(tmp_path / "other.key"), check=False)

    assert result.returncode == 2
    assert "another backup key" in result.stderr
    assert target.tool("integrity")["people"] == 0


def test_a_backup_holds_no_plaintext_and_no_key(source: Instance, tmp_path: Path) -> None:
    _backup(source, tmp_path / "a.backup")
    data = (tmp_path / "a.backup").read_bytes()
    for secret in ("Zebulon", "Xylograph", "QZ 0000", "example.org", "%PDF"):
        assert secret.encode() not in data
    keyring = (source.home / "keyring").read_bytes()
    assert keyring[-40:] not in data
    assert (source.home / "backup-private.key").read_text().split()[1].encode() not in data


def test_every_backup_and_restore_is_in_the_audit_log(
    source: Instance, make_instance: MakeInstance, tmp_path: Path
) -> None:
    _backup(source, tmp_path / "a.backup")
    target = make_instance(keys_from=source)
    target.run("restore", str(tmp_path / "a.backup"), "--key", str(source.home / "backup-private.key"))
    assert "backup.created" in source.tool("audit-actions")["actions"]
    assert target.tool("audit-actions")["actions"][-1] == "backup.restored"
