"""The keyring file and the file key provider: creation, loading, rotation and key derivation."""

from __future__ import annotations

import base64
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from legionary.identity.crypto import SealBrokenError, new_dek
from legionary.identity.keyring import (
    PRODUCTION_SCRYPT,
    FileKeyProvider,
    KeyProvider,
    KeyringCorruptError,
    KeyringError,
    KeyringExistsError,
    KeyringFormatError,
    KeyringMissingError,
    KeyringNotProtectedError,
    KeyringPassphraseError,
    KeyringPassphraseRequiredError,
    KeyringPermissionsError,
    KeyringUnreadableError,
    KeyState,
    KeyVersionError,
    KeyVersionInUseError,
    ScryptParams,
    add_index_key_version,
    add_kek_version,
    create_keyring,
    load_keyring,
    passphrase_from_env,
    retire_index_key_version,
    retire_kek_version,
)

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def fast_scrypt() -> ScryptParams:
    """Cheap scrypt, for tests only: production code has no way to ask for it."""
    return ScryptParams(n=2**4, r=8, p=1)


@pytest.fixture
def keyring_path(tmp_path: Path) -> Path:
    return tmp_path / "keyring"


@pytest.fixture
def protected_keyring(keyring_path: Path, fast_scrypt: ScryptParams) -> Path:
    create_keyring(keyring_path, PASSPHRASE, scrypt=fast_scrypt)
    return keyring_path


@pytest.fixture
def plain_keyring(keyring_path: Path) -> Path:
    create_keyring(keyring_path, None)
    return keyring_path


def provider(path: Path, scrypt: ScryptParams, passphrase: str | None = PASSPHRASE) -> FileKeyProvider:
    return FileKeyProvider.from_file(path, passphrase, scrypt=scrypt)


# --- creating ---------------------------------------------------------------------------------------


class TestCreate:
    def test_it_writes_the_file_readable_by_its_owner_only(self, protected_keyring: Path) -> None:
        assert stat.S_IMODE(protected_keyring.stat().st_mode) == 0o600

    def test_it_is_0600_even_under_a_permissive_umask(self, keyring_path: Path) -> None:
        old = os.umask(0)
        try:
            create_keyring(keyring_path, None)
        finally:
            os.umask(old)
        assert stat.S_IMODE(keyring_path.stat().st_mode) == 0o600

    def test_it_refuses_to_overwrite_an_existing_keyring(
        self, protected_keyring: Path, fast_scrypt: ScryptParams
    ) -> None:
        before = protected_keyring.read_bytes()
        with pytest.raises(KeyringExistsError, match="never overwrites"):
            create_keyring(protected_keyring, PASSPHRASE, scrypt=fast_scrypt)
        assert protected_keyring.read_bytes() == before

    def test_it_keeps_no_secret_in_clear_when_a_passphrase_is_given(
        self, protected_keyring: Path, fast_scrypt: ScryptParams
    ) -> None:
        keyring = load_keyring(protected_keyring, PASSPHRASE, scrypt=fast_scrypt)
        text = protected_keyring.read_text()
        doc = json.loads(text)
        assert "secrets" not in doc
        assert doc["protection"]["scheme"] == "scrypt+aes-256-gcm"
        for version in (*keyring.keks, *keyring.index_roots):
            assert version.secret.hex() not in text
            assert base64.b64encode(version.secret).decode() not in text

    def test_it_starts_with_one_current_kek_and_one_current_index_key(self, plain_keyring: Path) -> None:
        keyring = load_keyring(plain_keyring, None)
        assert [(v.id, v.state) for v in keyring.keks] == [(1, KeyState.CURRENT)]
        assert [(v.id, v.state) for v in keyring.index_roots] == [(1, KeyState.CURRENT)]
        assert len(keyring.current_kek.secret) == 32
        assert keyring.current_kek.secret != keyring.current_index_root.secret
        assert keyring.current_kek.created_at.tzinfo is not None

    def test_it_refuses_an_empty_passphrase(self, keyring_path: Path) -> None:
        with pytest.raises(KeyringError, match="empty passphrase"):
            create_keyring(keyring_path, "")
        assert not keyring_path.exists()

    def test_production_scrypt_is_the_strength_the_design_asks_for(self) -> None:
        assert (PRODUCTION_SCRYPT.n, PRODUCTION_SCRYPT.r, PRODUCTION_SCRYPT.p) == (2**15, 8, 1)

    def test_no_secret_appears_in_the_repr_of_a_keyring(self, plain_keyring: Path) -> None:
        keyring = load_keyring(plain_keyring, None)
        text = repr(keyring) + repr(FileKeyProvider(keyring))
        assert keyring.current_kek.secret.hex() not in text
        assert repr(keyring.current_kek.secret) not in text


# --- loading ---------------------------------------------------------------------------------------


class TestLoad:
    def test_it_loads_what_it_created_with_the_same_secrets(
        self, keyring_path: Path, fast_scrypt: ScryptParams
    ) -> None:
        created = create_keyring(keyring_path, PASSPHRASE, scrypt=fast_scrypt)
        loaded = load_keyring(keyring_path, PASSPHRASE, scrypt=fast_scrypt)
        assert loaded.current_kek.secret == created.current_kek.secret
        assert loaded.current_index_root.secret == created.current_index_root.secret
        assert loaded.protected

    def test_it_tells_the_operator_to_run_init_when_the_file_is_missing(self, keyring_path: Path) -> None:
        with pytest.raises(KeyringMissingError, match="run `legionary init`"):
            load_keyring(keyring_path, None)

    def test_it_rejects_a_wrong_passphrase(self, protected_keyring: Path, fast_scrypt: ScryptParams) -> None:
        with pytest.raises(KeyringPassphraseError, match="LEGIONARY_KEYRING_PASSPHRASE"):
            load_keyring(protected_keyring, "wrong horse", scrypt=fast_scrypt)

    def test_it_asks_for_the_passphrase_when_none_is_given(
        self, protected_keyring: Path, fast_scrypt: ScryptParams
    ) -> None:
        with pytest.raises(KeyringPassphraseRequiredError, match="set LEGIONARY_KEYRING_PASSPHRASE"):
            load_keyring(protected_keyring, None, scrypt=fast_scrypt)

    def test_it_refuses_to_ignore_a_passphrase_for_an_unprotected_keyring(self, plain_keyring: Path) -> None:
        with pytest.raises(KeyringNotProtectedError):
            load_keyring(plain_keyring, PASSPHRASE)

    def test_it_accepts_the_passphrase_in_either_unicode_normal_form(
        self, keyring_path: Path, fast_scrypt: ScryptParams
    ) -> None:
        create_keyring(keyring_path, "caf\u00e9 Zaza", scrypt=fast_scrypt)
        load_keyring(keyring_path, "cafe\u0301 Zaza", scrypt=fast_scrypt)

    @pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o660, 0o644])
    def test_it_refuses_a_file_group_or_others_can_access(self, plain_keyring: Path, mode: int) -> None:
        plain_keyring.chmod(mode)
        with pytest.raises(KeyringPermissionsError, match=f"chmod 600 {plain_keyring}"):
            load_keyring(plain_keyring, None)

    @pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
    def test_it_says_so_when_the_file_cannot_be_read(self, plain_keyring: Path) -> None:
        plain_keyring.chmod(0o000)
        with pytest.raises(KeyringUnreadableError):
            load_keyring(plain_keyring, None)

    def test_it_says_so_when_the_path_is_a_folder(self, tmp_path: Path) -> None:
        folder = tmp_path / "keyring"
        folder.mkdir(mode=0o700)
        with pytest.raises(KeyringUnreadableError):
            load_keyring(folder, None)

    def test_it_calls_invalid_json_damaged(self, keyring_path: Path) -> None:
        fd = os.open(keyring_path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"{not json")
        os.close(fd)
        with pytest.raises(KeyringCorruptError, match="restore it from your offline backup"):
            load_keyring(keyring_path, None)

    def test_it_calls_an_unknown_format_version_unknown(self, plain_keyring: Path) -> None:
        doc = json.loads(plain_keyring.read_text())
        doc["format_version"] = 99
        plain_keyring.write_text(json.dumps(doc))
        with pytest.raises(KeyringFormatError, match="upgrade legionary"):
            load_keyring(plain_keyring, None)

    def test_it_calls_a_file_of_another_kind_unknown(self, keyring_path: Path) -> None:
        fd = os.open(keyring_path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b'{"hello": "world"}')
        os.close(fd)
        with pytest.raises(KeyringFormatError):
            load_keyring(keyring_path, None)

    def test_it_calls_a_file_with_two_current_versions_damaged(self, plain_keyring: Path) -> None:
        add_kek_version(plain_keyring, None)
        doc = json.loads(plain_keyring.read_text())
        for entry in doc["kek_versions"]:
            entry["state"] = "current"
        plain_keyring.write_text(json.dumps(doc))
        with pytest.raises(KeyringCorruptError, match="exactly one current"):
            load_keyring(plain_keyring, None)

    def test_it_detects_an_edited_version_list_in_a_protected_keyring(
        self, protected_keyring: Path, fast_scrypt: ScryptParams
    ) -> None:
        doc = json.loads(protected_keyring.read_text())
        doc["kek_versions"][0]["created_at"] = "2000-01-01T00:00:00+00:00"
        protected_keyring.write_text(json.dumps(doc))
        with pytest.raises(KeyringPassphraseError):
            load_keyring(protected_keyring, PASSPHRASE, scrypt=fast_scrypt)

    def test_it_refuses_a_file_written_with_test_strength_scrypt_in_production(self, protected_keyring: Path) -> None:
        with pytest.raises(KeyringCorruptError, match="weaker"):
            load_keyring(protected_keyring, PASSPHRASE)

    def test_it_refuses_scrypt_parameters_that_would_exhaust_memory(
        self, protected_keyring: Path, fast_scrypt: ScryptParams
    ) -> None:
        doc = json.loads(protected_keyring.read_text())
        doc["protection"]["n"] = 2**30
        protected_keyring.write_text(json.dumps(doc))
        with pytest.raises(KeyringCorruptError, match="1 GiB"):
            load_keyring(protected_keyring, PASSPHRASE, scrypt=fast_scrypt)

    def test_it_says_so_when_a_folder_on_the_path_is_a_file(self, tmp_path: Path) -> None:
        (tmp_path / "home").write_text("not a folder")
        with pytest.raises(KeyringUnreadableError, match="cannot be read"):
            load_keyring(tmp_path / "home" / "keyring", None)

    def test_each_error_is_one_sentence_that_says_what_to_do(
        self, protected_keyring: Path, fast_scrypt: ScryptParams, tmp_path: Path
    ) -> None:
        messages = []
        for path, passphrase in [(tmp_path / "nowhere", None), (protected_keyring, "wrong"), (protected_keyring, None)]:
            with pytest.raises(KeyringError) as caught:
                load_keyring(path, passphrase, scrypt=fast_scrypt)
            messages.append(str(caught.value))
        protected_keyring.chmod(0o644)
        with pytest.raises(KeyringError) as caught:
            load_keyring(protected_keyring, PASSPHRASE, scrypt=fast_scrypt)
        messages.append(str(caught.value))
        for message in messages:
            assert message.endswith(".")
            assert ". " not in message
            assert any(verb in message for verb in ("run ", "check ", "set "))

    def test_the_passphrase_helper_reads_the_environment_variable(self) -> None:
        assert passphrase_from_env({"LEGIONARY_KEYRING_PASSPHRASE": "s3cret"}) == "s3cret"
        assert passphrase_from_env({"LEGIONARY_KEYRING_PASSPHRASE": ""}) is None
        assert passphrase_from_env({}) is None


# --- rotating ----------------------------------------------------------------------------------------


class TestRotate:
    def test_rotation_adds_a_current_version_and_keeps_the_old_ones(
        self, protected_keyring: Path, fast_scrypt: ScryptParams
    ) -> None:
        first = load_keyring(protected_keyring, PASSPHRASE, scrypt=fast_scrypt)
        assert add_kek_version(protected_keyring, PASSPHRASE, scrypt=fast_scrypt) == 2
        assert add_kek_version(protected_keyring, PASSPHRASE, scrypt=fast_scrypt) == 3
        after = load_keyring(protected_keyring, PASSPHRASE, scrypt=fast_scrypt)
        assert [(v.id, v.state) for v in after.keks] == [
            (1, KeyState.RETIRED),
            (2, KeyState.RETIRED),
            (3, KeyState.CURRENT),
        ]
        assert after.kek(1).secret == first.kek(1).secret
        assert len({v.secret for v in after.keks}) == 3
        assert after.current_index_root.secret == first.current_index_root.secret

    def test_a_dek_wrapped_before_rotation_still_unwraps_after_it(
        self, protected_keyring: Path, fast_scrypt: ScryptParams
    ) -> None:
        dek = new_dek()
        version, wrapped = provider(protected_keyring, fast_scrypt).wrap_dek(dek, b"person:p-1")
        add_kek_version(protected_keyring, PASSPHRASE, scrypt=fast_scrypt)
        rotated = provider(protected_keyring, fast_scrypt)
        assert rotated.current_kek_version() == version + 1
        assert rotated.unwrap_dek(version, wrapped, b"person:p-1") == dek
        new_version, rewrapped = rotated.wrap_dek(dek, b"person:p-1")
        assert new_version == 2
        assert rotated.unwrap_dek(new_version, rewrapped, b"person:p-1") == dek

    def test_concurrent_rotations_lose_no_version(self, plain_keyring: Path) -> None:
        with ThreadPoolExecutor(max_workers=4) as pool:
            new_ids = sorted(pool.map(lambda _: add_kek_version(plain_keyring, None), range(8)))
        assert new_ids == list(range(2, 10))
        assert [v.id for v in load_keyring(plain_keyring, None).keks] == list(range(1, 10))

    def test_the_updated_file_stays_0600_and_leaves_no_temporary_files(
        self, protected_keyring: Path, fast_scrypt: ScryptParams
    ) -> None:
        add_kek_version(protected_keyring, PASSPHRASE, scrypt=fast_scrypt)
        assert stat.S_IMODE(protected_keyring.stat().st_mode) == 0o600
        leftovers = [p.name for p in protected_keyring.parent.iterdir() if p.name.endswith(".tmp")]
        assert leftovers == []

    def test_rotation_refuses_a_wrong_passphrase_and_changes_nothing(
        self, protected_keyring: Path, fast_scrypt: ScryptParams
    ) -> None:
        before = protected_keyring.read_bytes()
        with pytest.raises(KeyringPassphraseError):
            add_kek_version(protected_keyring, "wrong", scrypt=fast_scrypt)
        assert protected_keyring.read_bytes() == before

    def test_retiring_refuses_while_data_keys_still_use_the_version(self, plain_keyring: Path) -> None:
        add_kek_version(plain_keyring, None)
        with pytest.raises(KeyVersionInUseError, match="3 users"):
            retire_kek_version(plain_keyring, None, 1, wrapped_dek_count=3)

    def test_retiring_refuses_the_current_version(self, plain_keyring: Path) -> None:
        with pytest.raises(KeyVersionInUseError, match="is current"):
            retire_kek_version(plain_keyring, None, 1, wrapped_dek_count=0)

    def test_retiring_an_unknown_version_says_so(self, plain_keyring: Path) -> None:
        with pytest.raises(KeyVersionError, match="no key-encryption key version 9"):
            retire_kek_version(plain_keyring, None, 9, wrapped_dek_count=0)

    def test_retiring_an_unused_version_keeps_its_secret(self, plain_keyring: Path) -> None:
        before = load_keyring(plain_keyring, None).kek(1).secret
        add_kek_version(plain_keyring, None)
        retire_kek_version(plain_keyring, None, 1, wrapped_dek_count=0)
        after = load_keyring(plain_keyring, None)
        assert after.kek(1).state is KeyState.RETIRED
        assert after.kek(1).secret == before

    def test_index_key_rotation_adds_a_version_and_keeps_the_old_one(self, plain_keyring: Path) -> None:
        old_key = FileKeyProvider.from_file(plain_keyring, None).index_key("surname")
        assert add_index_key_version(plain_keyring, None) == 2
        rotated = FileKeyProvider.from_file(plain_keyring, None)
        assert rotated.index_key_versions() == (1, 2)
        assert rotated.index_key("surname", 1) == old_key
        assert rotated.index_key("surname")[0] == 2
        assert rotated.current_kek_version() == 1

    def test_retiring_an_index_key_version_needs_its_rows_gone(self, plain_keyring: Path) -> None:
        add_index_key_version(plain_keyring, None)
        with pytest.raises(KeyVersionInUseError):
            retire_index_key_version(plain_keyring, None, 1, index_row_count=10)
        retire_index_key_version(plain_keyring, None, 1, index_row_count=0)
        assert load_keyring(plain_keyring, None).index_root(1).state is KeyState.RETIRED


# --- the provider ------------------------------------------------------------------------------------


class TestFileKeyProvider:
    def test_it_implements_the_key_provider_interface(self, plain_keyring: Path) -> None:
        keys: KeyProvider = FileKeyProvider.from_file(plain_keyring, None)
        assert isinstance(keys, KeyProvider)

    def test_a_wrapped_dek_unwraps_with_the_same_context(self, plain_keyring: Path) -> None:
        keys = FileKeyProvider.from_file(plain_keyring, None)
        dek = new_dek()
        version, wrapped = keys.wrap_dek(dek, b"p-1")
        assert version == 1
        assert dek not in wrapped
        assert keys.unwrap_dek(version, wrapped, b"p-1") == dek

    def test_a_wrapped_dek_moved_to_another_person_does_not_unwrap(self, plain_keyring: Path) -> None:
        keys = FileKeyProvider.from_file(plain_keyring, None)
        version, wrapped = keys.wrap_dek(new_dek(), b"p-1")
        with pytest.raises(SealBrokenError):
            keys.unwrap_dek(version, wrapped, b"p-2")

    def test_a_wrapped_dek_relabelled_with_another_kek_version_does_not_unwrap(self, plain_keyring: Path) -> None:
        add_kek_version(plain_keyring, None)
        keys = FileKeyProvider.from_file(plain_keyring, None)
        version, wrapped = keys.wrap_dek(new_dek(), b"p-1")
        with pytest.raises(SealBrokenError):
            keys.unwrap_dek(version - 1, wrapped, b"p-1")

    def test_an_altered_wrapped_dek_does_not_unwrap(self, plain_keyring: Path) -> None:
        keys = FileKeyProvider.from_file(plain_keyring, None)
        version, wrapped = keys.wrap_dek(new_dek(), b"p-1")
        for index in range(len(wrapped)):
            altered = bytearray(wrapped)
            altered[index] ^= 0x01
            with pytest.raises(SealBrokenError):
                keys.unwrap_dek(version, bytes(altered), b"p-1")

    def test_unwrapping_with_an_unknown_version_says_to_restore_the_keyring(self, plain_keyring: Path) -> None:
        keys = FileKeyProvider.from_file(plain_keyring, None)
        _, wrapped = keys.wrap_dek(new_dek(), b"p-1")
        with pytest.raises(KeyVersionError, match="offline backup"):
            keys.unwrap_dek(7, wrapped, b"p-1")

    def test_index_keys_differ_per_index_name(self, plain_keyring: Path) -> None:
        keys = FileKeyProvider.from_file(plain_keyring, None)
        names = ["surname", "given_name", "birth_date", "document_number", "phone", "email"]
        derived = {keys.index_key(name)[1] for name in names}
        assert len(derived) == len(names)

    def test_index_keys_differ_per_version(self, plain_keyring: Path) -> None:
        add_index_key_version(plain_keyring, None)
        keys = FileKeyProvider.from_file(plain_keyring, None)
        assert keys.index_key("surname", 1)[1] != keys.index_key("surname", 2)[1]

    def test_index_keys_are_the_same_every_time_the_keyring_is_loaded(self, plain_keyring: Path) -> None:
        first = FileKeyProvider.from_file(plain_keyring, None).index_key("surname")
        second = FileKeyProvider.from_file(plain_keyring, None).index_key("surname")
        assert first == second

    def test_index_keys_differ_between_keyrings(self, tmp_path: Path) -> None:
        create_keyring(tmp_path / "a", None)
        create_keyring(tmp_path / "b", None)
        a = FileKeyProvider.from_file(tmp_path / "a", None).index_key("surname")[1]
        b = FileKeyProvider.from_file(tmp_path / "b", None).index_key("surname")[1]
        assert a != b

    def test_an_index_key_is_not_the_index_root_key(self, plain_keyring: Path) -> None:
        keyring = load_keyring(plain_keyring, None)
        assert FileKeyProvider(keyring).index_key("surname")[1] != keyring.current_index_root.secret

    def test_asking_for_an_unknown_index_key_version_fails(self, plain_keyring: Path) -> None:
        with pytest.raises(KeyVersionError):
            FileKeyProvider.from_file(plain_keyring, None).index_key("surname", 5)
