"""The keyring file: versioned key-encryption keys and blind-index root keys, kept off the database.

This module is responsible for:

* creating, loading and atomically updating the keyring file (``$LEGIONARY_HOME/keyring``), a JSON
  document holding every key-encryption-key (KEK) version and every blind-index root key version,
  optionally encrypted under a passphrase (scrypt, then AES-256-GCM);
* ``FileKeyProvider``, which wraps and unwraps data keys (DEKs) with a KEK and derives one key per
  blind index from the index root key. It implements ``KeyProvider``, the small interface a
  key-management service can implement later without the rest of legionary noticing.

What it must never do:

* never log, print or put key bytes or the passphrase in an exception message or ``repr``;
* never write the keyring readable by anyone but its owner, not even for a moment, and never load
  one that is readable or writable by group or others;
* never overwrite an existing keyring when creating one, and never drop a key version when updating;
* never store secrets unencrypted when a passphrase was given, and never silently ignore a
  passphrase (a passphrase given for an unprotected keyring is an error, not a no-op);
* never weaken the passphrase KDF through configuration: cheaper scrypt parameters exist only as a
  function argument that tests pass in.

The audit log's signing key is not here: the audit module keeps its own.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import stat
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from legionary.identity.crypto import (
    DEK_BYTES,
    NONCE_BYTES,
    TAG_BYTES,
    SealBrokenError,
    canonical_aad,
)

__all__ = [
    "PASSPHRASE_ENV",
    "PRODUCTION_SCRYPT",
    "FileKeyProvider",
    "KeyProvider",
    "KeyState",
    "KeyVersion",
    "KeyVersionError",
    "KeyVersionInUseError",
    "Keyring",
    "KeyringCorruptError",
    "KeyringError",
    "KeyringExistsError",
    "KeyringFormatError",
    "KeyringMissingError",
    "KeyringNotProtectedError",
    "KeyringPassphraseError",
    "KeyringPassphraseRequiredError",
    "KeyringPermissionsError",
    "KeyringUnreadableError",
    "KeyringWriteError",
    "ScryptParams",
    "add_index_key_version",
    "add_kek_version",
    "create_keyring",
    "load_keyring",
    "passphrase_from_env",
    "retire_index_key_version",
    "retire_kek_version",
]

PASSPHRASE_ENV: Final = "LEGIONARY_KEYRING_PASSPHRASE"  # noqa: S105 -- the variable's name, not a secret

FORMAT_NAME: Final = "legionary-keyring"
FORMAT_VERSION: Final = 1
SECRET_BYTES: Final = 32

_PROTECTION_NONE: Final = "none"
_PROTECTION_SCRYPT: Final = "scrypt+aes-256-gcm"
_SALT_BYTES: Final = 16
# scrypt needs about 128 * n * r bytes. A keyring file is read before it is authenticated, so cap
# what it may ask for: 1 GiB, and parallelism that would take minutes.
_SCRYPT_MAX_MEMORY: Final = 1024 * 1024 * 1024
_SCRYPT_MAX_P: Final = 16

# Binds a wrapped DEK to its KEK version and to the caller's context (the person id).
_WRAP_DOMAIN: Final = b"legionary/dek-wrap"
_WRAP_FORMAT: Final = 1
_WRAPPED_BYTES: Final = 1 + NONCE_BYTES + DEK_BYTES + TAG_BYTES
# The index name goes into HKDF's ``info`` after this label, so each index gets its own key.
_INDEX_KEY_INFO: Final = b"legionary/blind-index/v1\x00"
_SECRETS_AAD_DOMAIN: Final = b"legionary/keyring-secrets"


# --- errors: each message is one sentence that says what to do -----------------------------------


class KeyringError(Exception):
    """Base class for every keyring problem; the message tells the operator what to do."""


class KeyringMissingError(KeyringError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"There is no keyring at {path}; run `legionary init` to create one.")


class KeyringUnreadableError(KeyringError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"The keyring at {path} cannot be read ({reason}); make it a regular file owned and "
            "readable by the user that runs legionary."
        )


class KeyringPermissionsError(KeyringError):
    def __init__(self, path: Path, mode: int) -> None:
        super().__init__(
            f"The keyring at {path} is accessible to group or others (mode {mode:04o}); "
            f"run `chmod 600 {path}` and try again."
        )


class KeyringPassphraseError(KeyringError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"The passphrase does not open the keyring at {path} (or the file was altered); check {PASSPHRASE_ENV}."
        )


class KeyringPassphraseRequiredError(KeyringError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"The keyring at {path} is protected by a passphrase; set {PASSPHRASE_ENV} and try again.")


class KeyringNotProtectedError(KeyringError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"A passphrase was given but the keyring at {path} is not passphrase-protected; "
            f"unset {PASSPHRASE_ENV}, or create a protected keyring."
        )


class KeyringCorruptError(KeyringError):
    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(f"The keyring at {path} is damaged ({detail}); restore it from your offline backup.")


class KeyringFormatError(KeyringError):
    def __init__(self, path: Path, found: object) -> None:
        super().__init__(
            f"The keyring at {path} has format {found!r}, which this version of legionary does not "
            "understand; upgrade legionary or restore the keyring from a backup."
        )


class KeyringExistsError(KeyringError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"A keyring already exists at {path} and legionary never overwrites one; "
            "keep using it, or move it away yourself if you truly mean to start over."
        )


class KeyringWriteError(KeyringError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"The keyring at {path} could not be written ({reason}); check that its folder exists "
            "and is writable, then try again."
        )


class KeyVersionError(KeyringError):
    """A key version was asked for that the keyring does not hold, or cannot be changed so."""


class KeyVersionInUseError(KeyVersionError):
    """A version cannot be retired because something still uses it."""


# --- the keyring in memory ------------------------------------------------------------------------


@dataclass(frozen=True)
class ScryptParams:
    """Cost of the passphrase KDF. Production uses ``PRODUCTION_SCRYPT``; only tests pass cheaper."""

    n: int = 2**15
    r: int = 8
    p: int = 1

    def cost(self) -> int:
        return self.n * self.r * self.p

    def check_sane(self) -> None:
        if self.n < 2 or self.n & (self.n - 1) or self.r < 1 or not 1 <= self.p <= _SCRYPT_MAX_P:
            raise ValueError("scrypt needs n a power of two above 1, r >= 1 and 1 <= p <= 16")
        if 128 * self.n * self.r > _SCRYPT_MAX_MEMORY:
            raise ValueError("scrypt parameters would need more than 1 GiB of memory")


PRODUCTION_SCRYPT: Final = ScryptParams()


class KeyState(StrEnum):
    CURRENT = "current"  # used for new wraps (KEK) or new index values (index root)
    RETIRED = "retired"  # kept, no longer used for new material


@dataclass(frozen=True)
class KeyVersion:
    id: int
    secret: bytes = field(repr=False)  # never shown: a repr ends up in logs and tracebacks
    created_at: datetime
    state: KeyState


@dataclass(frozen=True)
class Keyring:
    """A loaded keyring: every KEK version and every index root key version, oldest first."""

    keks: tuple[KeyVersion, ...]
    index_roots: tuple[KeyVersion, ...]
    protected: bool

    @property
    def current_kek(self) -> KeyVersion:
        return _current(self.keks)

    @property
    def current_index_root(self) -> KeyVersion:
        return _current(self.index_roots)

    def kek(self, version: int) -> KeyVersion:
        return _find(self.keks, version, "key-encryption key")

    def index_root(self, version: int) -> KeyVersion:
        return _find(self.index_roots, version, "index key")


def _current(versions: tuple[KeyVersion, ...]) -> KeyVersion:
    # Validation at load guarantees exactly one current version.
    return next(v for v in versions if v.state is KeyState.CURRENT)


def _find(versions: tuple[KeyVersion, ...], version: int, what: str) -> KeyVersion:
    for v in versions:
        if v.id == version:
            return v
    raise KeyVersionError(
        f"The keyring holds no {what} version {version}; restore the keyring that has it from your offline backup."
    )


def _new_version(version_id: int, now: datetime) -> KeyVersion:
    return KeyVersion(
        id=version_id,
        secret=os.urandom(SECRET_BYTES),
        created_at=now,
        state=KeyState.CURRENT,
    )


def _append_current(versions: tuple[KeyVersion, ...], now: datetime) -> tuple[KeyVersion, ...]:
    retired = tuple(replace(v, state=KeyState.RETIRED) if v.state is KeyState.CURRENT else v for v in versions)
    return (*retired, _new_version(max(v.id for v in versions) + 1, now))


# --- serialisation --------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, path: Path, what: str) -> bytes:
    if not isinstance(text, str):
        raise KeyringCorruptError(path, f"{what} is not base64 text")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise KeyringCorruptError(path, f"{what} is not base64 text") from None


def _normalise_passphrase(passphrase: str) -> bytes:
    # NFC so the same phrase typed on two keyboards (composed or decomposed accents) opens the file.
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _derive_passphrase_key(passphrase: str, salt: bytes, params: ScryptParams) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=params.n, r=params.r, p=params.p)
    return kdf.derive(_normalise_passphrase(passphrase))


def _metadata(versions: tuple[KeyVersion, ...]) -> list[dict[str, Any]]:
    return [{"id": v.id, "created_at": v.created_at.isoformat(), "state": v.state.value} for v in versions]


def _canonical_json(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _serialise(keyring: Keyring, passphrase: str | None, scrypt: ScryptParams) -> bytes:
    doc: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kek_versions": _metadata(keyring.keks),
        "index_key_versions": _metadata(keyring.index_roots),
    }
    secrets = {
        "kek": {str(v.id): _b64(v.secret) for v in keyring.keks},
        "index": {str(v.id): _b64(v.secret) for v in keyring.index_roots},
    }
    if passphrase is None:
        doc["protection"] = {"scheme": _PROTECTION_NONE}
        doc["secrets"] = secrets
    else:
        scrypt.check_sane()
        salt = os.urandom(_SALT_BYTES)
        nonce = os.urandom(NONCE_BYTES)
        doc["protection"] = {
            "scheme": _PROTECTION_SCRYPT,
            "salt": _b64(salt),
            "n": scrypt.n,
            "r": scrypt.r,
            "p": scrypt.p,
            "nonce": _b64(nonce),
        }
        # The whole document except the ciphertext is associated data, so the version list, the
        # states and the KDF parameters cannot be edited without the passphrase noticing.
        aad = canonical_aad(_SECRETS_AAD_DOMAIN, _canonical_json(doc))
        key = _derive_passphrase_key(passphrase, salt, scrypt)
        doc["sealed_secrets"] = _b64(AESGCM(key).encrypt(nonce, _canonical_json(secrets), aad))
    return json.dumps(doc, indent=2, sort_keys=True).encode("ascii") + b"\n"


def _parse_versions(raw: object, secrets: Mapping[str, Any], path: Path, what: str) -> tuple[KeyVersion, ...]:
    if not isinstance(raw, list) or not raw:
        raise KeyringCorruptError(path, f"the {what} version list is missing or empty")
    versions: list[KeyVersion] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise KeyringCorruptError(path, f"a {what} version entry is not an object")
        version_id = entry.get("id")
        if not isinstance(version_id, int) or isinstance(version_id, bool) or version_id < 1:
            raise KeyringCorruptError(path, f"a {what} version id is not a positive integer")
        try:
            created_at = datetime.fromisoformat(str(entry.get("created_at")))
            state = KeyState(str(entry.get("state")))
        except ValueError:
            raise KeyringCorruptError(path, f"{what} version {version_id} has a bad date or state") from None
        secret = _unb64(
            secrets.get(str(version_id)),
            path,
            f"the secret of {what} version {version_id}",
        )
        if len(secret) != SECRET_BYTES:
            raise KeyringCorruptError(path, f"the secret of {what} version {version_id} has the wrong length")
        versions.append(KeyVersion(id=version_id, secret=secret, created_at=created_at, state=state))
    ids = [v.id for v in versions]
    if len(set(ids)) != len(ids):
        raise KeyringCorruptError(path, f"two {what} versions share an id")
    if sum(v.state is KeyState.CURRENT for v in versions) != 1:
        raise KeyringCorruptError(path, f"there is not exactly one current {what} version")
    return tuple(sorted(versions, key=lambda v: v.id))


def _scrypt_params_from(protection: Mapping[str, Any], path: Path) -> ScryptParams:
    n, r, p = (protection.get(name) for name in ("n", "r", "p"))
    if not all(type(v) is int for v in (n, r, p)):
        raise KeyringCorruptError(path, "the scrypt parameters are not integers")
    params = ScryptParams(n=int(str(n)), r=int(str(r)), p=int(str(p)))
    try:
        params.check_sane()
    except ValueError as exc:
        raise KeyringCorruptError(path, str(exc)) from None
    return params


def _parse(data: bytes, path: Path, passphrase: str | None, scrypt_floor: ScryptParams) -> Keyring:
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise KeyringCorruptError(path, "it is not valid JSON") from None
    if not isinstance(doc, dict):
        raise KeyringCorruptError(path, "it is not a JSON object")
    if doc.get("format") != FORMAT_NAME:
        raise KeyringFormatError(path, doc.get("format"))
    if doc.get("format_version") != FORMAT_VERSION:
        raise KeyringFormatError(path, f"{FORMAT_NAME} version {doc.get('format_version')}")
    protection = doc.get("protection")
    if not isinstance(protection, dict):
        raise KeyringCorruptError(path, "the protection block is missing")
    scheme = protection.get("scheme")

    if scheme == _PROTECTION_NONE:
        if passphrase is not None:
            raise KeyringNotProtectedError(path)
        secrets = doc.get("secrets")
        protected = False
    elif scheme == _PROTECTION_SCRYPT:
        if passphrase is None:
            raise KeyringPassphraseRequiredError(path)
        params = _scrypt_params_from(protection, path)
        if params.cost() < scrypt_floor.cost():
            # A file written with test-strength parameters must not be trusted in production.
            raise KeyringCorruptError(path, "its passphrase KDF is weaker than this installation accepts")
        salt = _unb64(protection.get("salt"), path, "the scrypt salt")
        nonce = _unb64(protection.get("nonce"), path, "the nonce")
        sealed = _unb64(doc.get("sealed_secrets"), path, "the sealed secrets")
        if len(nonce) != NONCE_BYTES:
            raise KeyringCorruptError(path, "the nonce has the wrong length")
        aad_doc = {k: v for k, v in doc.items() if k != "sealed_secrets"}
        aad = canonical_aad(_SECRETS_AAD_DOMAIN, _canonical_json(aad_doc))
        key = _derive_passphrase_key(passphrase, salt, params)
        try:
            plain = AESGCM(key).decrypt(nonce, sealed, aad)
        except InvalidTag:
            raise KeyringPassphraseError(path) from None
        secrets = json.loads(plain)
        protected = True
    else:
        raise KeyringFormatError(path, f"protection scheme {scheme!r}")

    if (
        not isinstance(secrets, dict)
        or not isinstance(secrets.get("kek"), dict)
        or not isinstance(secrets.get("index"), dict)
    ):
        raise KeyringCorruptError(path, "the secrets block is missing")
    return Keyring(
        keks=_parse_versions(doc.get("kek_versions"), secrets["kek"], path, "key-encryption key"),
        index_roots=_parse_versions(doc.get("index_key_versions"), secrets["index"], path, "index key"),
        protected=protected,
    )


# --- file handling --------------------------------------------------------------------------------


def _read_private_file(path: Path) -> bytes:
    try:
        # O_NONBLOCK so a FIFO planted at the path cannot hang us; fstat below rejects it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise KeyringMissingError(path) from None
    except OSError as exc:
        raise KeyringUnreadableError(path, exc.strerror or type(exc).__name__) from None
    try:
        # fstat on the open descriptor, not stat on the path, so the checked file is the read file.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyringUnreadableError(path, "it is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise KeyringPermissionsError(path, mode)
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise KeyringUnreadableError(path, exc.strerror or type(exc).__name__) from None
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    # Without this, a crash right after os.replace can leave the directory entry pointing at the old
    # file, or at nothing on some filesystems.
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_exclusive(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file at ``path``, mode 0600 from the first instant, never replacing."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyringExistsError(path) from None
    except OSError as exc:
        raise KeyringWriteError(path, exc.strerror or type(exc).__name__) from None
    try:
        _write_all(fd, data)
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        # A half-written keyring would later read as corrupt; remove the one we just created.
        path.unlink(missing_ok=True)
        raise KeyringWriteError(path, exc.strerror or type(exc).__name__) from None
    os.close(fd)
    _fsync_dir(path.parent)


def _replace_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temp file 0600, fsync, rename over, fsync the directory."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o600)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise KeyringWriteError(path, exc.strerror or type(exc).__name__) from None


@contextlib.contextmanager
def _update_lock(path: Path) -> Iterator[None]:
    # Two rotations at once would each read version N and write N+1, losing one key. The lock is a
    # separate file because os.replace swaps the keyring's inode, so a lock on it would not hold.
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        raise KeyringWriteError(path, exc.strerror or type(exc).__name__) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


# --- public functions -----------------------------------------------------------------------------


def passphrase_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """Return ``LEGIONARY_KEYRING_PASSPHRASE``, or None when it is unset or empty."""
    value = (os.environ if environ is None else environ).get(PASSPHRASE_ENV)
    return value or None


def _check_passphrase_for_writing(passphrase: str | None) -> None:
    if passphrase is not None and not passphrase:
        raise KeyringError(
            f"An empty passphrase protects nothing; set {PASSPHRASE_ENV} to a long phrase or leave it unset."
        )


def create_keyring(
    path: str | os.PathLike[str],
    passphrase: str | None,
    *,
    scrypt: ScryptParams = PRODUCTION_SCRYPT,
) -> Keyring:
    """Create a new keyring file with one KEK version and one index root key version.

    Refuses (``KeyringExistsError``) if anything exists at ``path``. ``scrypt`` is for tests only.
    """
    target = Path(path)
    _check_passphrase_for_writing(passphrase)
    now = datetime.now(UTC)
    keyring = Keyring(
        keks=(_new_version(1, now),),
        index_roots=(_new_version(1, now),),
        protected=passphrase is not None,
    )
    _create_exclusive(target, _serialise(keyring, passphrase, scrypt))
    return keyring


def load_keyring(
    path: str | os.PathLike[str],
    passphrase: str | None,
    *,
    scrypt: ScryptParams = PRODUCTION_SCRYPT,
) -> Keyring:
    """Load and check a keyring; raise a ``KeyringError`` subclass that says what to do.

    ``scrypt`` is the least passphrase-KDF cost accepted (the file's own parameters are used to
    derive the key); tests pass cheaper parameters, production never does.
    """
    target = Path(path)
    return _parse(_read_private_file(target), target, passphrase, scrypt)


def _update(
    path: str | os.PathLike[str],
    passphrase: str | None,
    scrypt: ScryptParams,
    change: Callable[[Keyring], Keyring],
) -> Keyring:
    target = Path(path)
    with _update_lock(target):
        # Re-read under the lock so a concurrent update is never overwritten.
        keyring = load_keyring(target, passphrase, scrypt=scrypt)
        updated = change(keyring)
        _replace_atomically(target, _serialise(updated, passphrase, scrypt))
    return updated


def add_kek_version(
    path: str | os.PathLike[str],
    passphrase: str | None,
    *,
    scrypt: ScryptParams = PRODUCTION_SCRYPT,
) -> int:
    """Append a new KEK version, make it current, retire the previous current one; return its id.

    Older versions keep their secret so data keys wrapped under them still unwrap until rewrapped.
    """
    updated = _update(
        path,
        passphrase,
        scrypt,
        lambda k: replace(k, keks=_append_current(k.keks, datetime.now(UTC))),
    )
    return updated.current_kek.id


def add_index_key_version(
    path: str | os.PathLike[str],
    passphrase: str | None,
    *,
    scrypt: ScryptParams = PRODUCTION_SCRYPT,
) -> int:
    """Append a new index root key version and make it current; return its id.

    Every blind index must then be recomputed from plaintext; until that is done, look-ups must try
    the older versions too, which is why they are kept.
    """
    updated = _update(
        path,
        passphrase,
        scrypt,
        lambda k: replace(k, index_roots=_append_current(k.index_roots, datetime.now(UTC))),
    )
    return updated.current_index_root.id


def _retire(versions: tuple[KeyVersion, ...], version: int, users: int, what: str) -> tuple[KeyVersion, ...]:
    target = _find(versions, version, what)
    if target.state is KeyState.CURRENT:
        raise KeyVersionInUseError(
            f"{what.capitalize()} version {version} is current; add a new version before retiring it."
        )
    if users:
        raise KeyVersionInUseError(
            f"{what.capitalize()} version {version} still has {users} users; move them to the current version first."
        )
    return tuple(replace(v, state=KeyState.RETIRED) if v.id == version else v for v in versions)


def retire_kek_version(
    path: str | os.PathLike[str],
    passphrase: str | None,
    version: int,
    *,
    wrapped_dek_count: int,
    scrypt: ScryptParams = PRODUCTION_SCRYPT,
) -> None:
    """Mark a non-current KEK version retired; the caller must say how many DEKs it still wraps.

    Refuses unless ``wrapped_dek_count`` is 0: the caller counts, this module cannot see the database.
    The secret is kept, so a data key restored from an old backup can still be unwrapped.
    """
    _update(
        path,
        passphrase,
        scrypt,
        lambda k: replace(k, keks=_retire(k.keks, version, wrapped_dek_count, "key-encryption key")),
    )


def retire_index_key_version(
    path: str | os.PathLike[str],
    passphrase: str | None,
    version: int,
    *,
    index_row_count: int,
    scrypt: ScryptParams = PRODUCTION_SCRYPT,
) -> None:
    """Mark a non-current index root key version retired once no index row uses it."""
    _update(
        path,
        passphrase,
        scrypt,
        lambda k: replace(k, index_roots=_retire(k.index_roots, version, index_row_count, "index key")),
    )


# --- the key provider interface -------------------------------------------------------------------


@runtime_checkable
class KeyProvider(Protocol):
    """What the rest of legionary needs from a key store; a KMS can implement it later."""

    def current_kek_version(self) -> int: ...

    def wrap_dek(self, dek: bytes, aad: bytes) -> tuple[int, bytes]: ...

    def unwrap_dek(self, version: int, wrapped: bytes, aad: bytes) -> bytes: ...

    def index_key(self, index_name: str, version: int | None = None) -> tuple[int, bytes]: ...

    def index_key_versions(self) -> tuple[int, ...]: ...

    def current_index_key_version(self) -> int: ...


def _wrap_aad(version: int, aad: bytes) -> bytes:
    return canonical_aad(_WRAP_DOMAIN, _WRAP_FORMAT, version, aad)


class FileKeyProvider:
    """``KeyProvider`` over a keyring file loaded into memory.

    Wrapping is AES-256-GCM with a random nonce rather than RFC 3394 key wrap, because GCM takes
    associated data: it binds the KEK version and the caller's context (the person id), so a wrapped
    DEK copied onto another person, or relabelled with another version, does not unwrap. (Speed is
    not the reason with cryptography 50: ``bench/bench_crypto.py`` shows the two within 1.3x.)
    Index keys are derived on demand and cached; the database never holds them.
    """

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._index_keys: dict[tuple[str, int], bytes] = {}
        # One cipher object per KEK version: building it costs about as much as the encryption.
        self._kek_ciphers: dict[int, AESGCM] = {}

    def __repr__(self) -> str:
        return f"FileKeyProvider(kek_versions={[v.id for v in self._keyring.keks]})"

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        passphrase: str | None,
        *,
        scrypt: ScryptParams = PRODUCTION_SCRYPT,
    ) -> FileKeyProvider:
        return cls(load_keyring(path, passphrase, scrypt=scrypt))

    def current_kek_version(self) -> int:
        return self._keyring.current_kek.id

    def wrap_dek(self, dek: bytes, aad: bytes) -> tuple[int, bytes]:
        if len(dek) != DEK_BYTES:
            raise ValueError(f"a data key must be {DEK_BYTES} bytes")
        version = self._keyring.current_kek.id
        nonce = os.urandom(NONCE_BYTES)
        wrapped = bytes([_WRAP_FORMAT]) + nonce + self._kek_cipher(version).encrypt(nonce, dek, _wrap_aad(version, aad))
        return version, wrapped

    def unwrap_dek(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        # Retired versions still unwrap: retiring stops new use, it does not make old data unreadable.
        cipher = self._kek_cipher(version)
        if len(wrapped) != _WRAPPED_BYTES or wrapped[0] != _WRAP_FORMAT:
            raise SealBrokenError("The wrapped data key has the wrong length or format; it was altered or truncated.")
        nonce = wrapped[1 : 1 + NONCE_BYTES]
        try:
            return cipher.decrypt(nonce, wrapped[1 + NONCE_BYTES :], _wrap_aad(version, aad))
        except InvalidTag:
            raise SealBrokenError(
                f"The wrapped data key does not open with key-encryption key version {version}: it was "
                "altered, or belongs to another person."
            ) from None

    def _kek_cipher(self, version: int) -> AESGCM:
        cipher = self._kek_ciphers.get(version)
        if cipher is None:
            cipher = self._kek_ciphers[version] = AESGCM(self._keyring.kek(version).secret)
        return cipher

    def index_key(self, index_name: str, version: int | None = None) -> tuple[int, bytes]:
        if not index_name:
            raise ValueError("index_name must be a non-empty string")
        root = self._keyring.current_index_root if version is None else self._keyring.index_root(version)
        cache_key = (index_name, root.id)
        key = self._index_keys.get(cache_key)
        if key is None:
            # HKDF with the index name in ``info``: each index gets an independent key, so one
            # index's values say nothing about another's even for equal inputs.
            key = HKDF(
                algorithm=hashes.SHA256(),
                length=SECRET_BYTES,
                salt=None,
                info=_INDEX_KEY_INFO + index_name.encode("utf-8"),
            ).derive(root.secret)
            self._index_keys[cache_key] = key
        return root.id, key

    def index_key_versions(self) -> tuple[int, ...]:
        return tuple(v.id for v in self._keyring.index_roots)

    def current_index_key_version(self) -> int:
        return self._keyring.current_index_root.id
