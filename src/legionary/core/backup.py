"""Encrypted, signed backups of the database and the uploads, and their restore.

This module is responsible for:

* the backup key pair (X25519): the public half beside the keyring (``backup.pub``), the private
  half written once to a file the operator moves off the machine; it is not the keyring;
* ``backup_create``: a consistent snapshot taken while the service runs (SQLite's online backup
  API; ``pg_dump --format=custom`` on PostgreSQL) and the uploads folder (already encrypted per
  person), packed as a tar stream and encrypted on the fly (ephemeral X25519, HKDF-SHA256,
  AES-256-GCM in 1 MiB chunks with a counter nonce and a last-chunk flag), so nothing large is
  ever held whole in memory; a manifest (instance, time, vendor, sizes, hashes) and an Ed25519
  signature by the instance's audit signing key close the file;
* ``backup_restore``: checks the signature over every byte, refuses a tampered, truncated or
  foreign archive before anything is written, decrypts to a staging area, and only then replaces
  the database and the uploads, migrates, re-applies every erasure in the erasure journal and
  records the restore in the audit log.

What it must never do:

* never put the keyring, the backup private key or any plaintext identity into an archive (the
  database holds identities only sealed; the keyring is backed up separately);
* never write to the live database or uploads before the whole archive has been verified;
* never trust a name or path inside an archive: only ``database`` and ``uploads/xx/<hex id>``
  members are accepted;
* never hold a database dump or a decrypted archive whole in memory.

File layout (all integers big-endian)::

    MAGIC | u32 header length | header JSON
    ("C" | u32 length | AES-GCM chunk)*      nonce = u88 counter | u8 last-flag, AAD = SHA-256(header part)
    "M" | u32 length | manifest JSON
    Ed25519 signature (64 bytes) over SIG_DOMAIN | SHA-256(everything before the signature)
"""

from __future__ import annotations

import base64
import glob
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, Final

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.conf import settings
from django.db import connection, connections, transaction

from legionary.audit import kept_checkpoint

MAGIC: Final = b"LEGIONARY-BACKUP\x00\x01\n"
SIG_DOMAIN: Final = b"legionary/backup-signature/v1\n"
HKDF_INFO: Final = b"legionary/backup/v1"
CHUNK_BYTES: Final = 1024 * 1024
SIGNATURE_BYTES: Final = 64
# A header or manifest bigger than this is not one of ours; refuse before reading it.
MAX_META_BYTES: Final = 1024 * 1024
PUBLIC_KEY_NAME: Final = "backup.pub"
_PUBLIC_LABEL: Final = "legionary-backup-public-v1"
_PRIVATE_LABEL: Final = "legionary-backup-private-v1"
_UPLOAD_MEMBER = re.compile(r"^uploads/[0-9a-f]{2}/[0-9a-f]{32}$")
_DATABASE_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}

Progress = Callable[[int], object]


class BackupError(Exception):
    """A backup or restore was refused; the message says what is wrong and what to do."""


class ArchiveRejected(BackupError):
    """The archive is tampered with, truncated, foreign or not a backup: nothing was written."""


# --- keys ----------------------------------------------------------------------------------------


def public_key_path() -> Path:
    return Path(settings.LEGIONARY_KEYRING).parent / PUBLIC_KEY_NAME


def default_private_key_path() -> Path:
    return Path(settings.LEGIONARY_HOME) / "backup-private.key"


def _raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: X25519PublicKey) -> str:
    return hashlib.sha256(b"legionary/backup-key\n" + _raw(key)).hexdigest()[:16]


def backup_key_init(private_out: Path) -> tuple[Path, str]:
    """Creates the backup key pair; returns (public key path, key id). Never replaces a key."""
    public_path = public_key_path()
    if public_path.exists():
        raise BackupError(f"A backup key already exists ({public_path}); backups are encrypted to it.")
    if private_out.exists():
        raise BackupError(f"{private_out} already exists; choose another path for the private backup key.")
    private = X25519PrivateKey.generate()
    raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    try:
        private_out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_new(private_out, f"{_PRIVATE_LABEL} {base64.b64encode(raw_private).decode('ascii')}\n")
    except OSError as exc:
        raise BackupError(
            f"Cannot write the private backup key to {private_out} ({exc.strerror}) as user {_user()}; give "
            "--private-key-out a path that user can write (in LEGIONARY_HOME, say), then move it off the machine."
        ) from None
    try:
        public_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_new(public_path, f"{_PUBLIC_LABEL} {base64.b64encode(_raw(private.public_key())).decode('ascii')}\n")
    except OSError as exc:
        private_out.unlink(missing_ok=True)  # a private key without its public half encrypts nothing
        raise BackupError(
            f"Cannot write the backup public key to {public_path} ({exc.strerror}) as user {_user()}; make the "
            "keyring's folder writable by that user."
        ) from None
    return public_path, key_id(private.public_key())


def _user() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def _write_new(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _read_key_text(path: Path, label: str, what: str) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        raise BackupError(f"The {what} {path} cannot be read; give the right file.") from None
    parts = text.split()
    try:
        if len(parts) != 2 or parts[0] != label:
            raise ValueError
        raw = base64.b64decode(parts[1], validate=True)
        if len(raw) != 32:
            raise ValueError
    except ValueError:
        raise BackupError(f"{path} is not a {what}.") from None
    return raw


def load_public_key() -> X25519PublicKey:
    raw = _read_key_text(public_key_path(), _PUBLIC_LABEL, "backup public key")
    return X25519PublicKey.from_public_bytes(raw)


def load_private_key(path: Path) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(_read_key_text(path, _PRIVATE_LABEL, "private backup key"))


def _stream_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=HKDF_INFO).derive(shared)


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


# --- writing -------------------------------------------------------------------------------------


class _HashingFile:
    """Writes through to a file and hashes every byte written (for the signature)."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle, self.digest, self.count = handle, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.digest.update(data)
        self.count += len(data)


class _SealingWriter:
    """A write-only stream that encrypts in fixed chunks; ``finish`` seals the flagged last chunk."""

    def __init__(self, out: _HashingFile, key: bytes, aad: bytes, progress: Progress | None) -> None:
        self.out, self.aead, self.aad, self.progress = out, AESGCM(key), aad, progress
        self.buffer = bytearray()
        self.counter = 0
        self.plaintext_bytes = 0

    def write(self, data: bytes) -> int:
        view = bytes(data)
        self.buffer += view
        self.plaintext_bytes += len(view)
        # Keep at least one byte back so that the chunk written at close is the flagged last one.
        while len(self.buffer) > CHUNK_BYTES:
            self._emit(bytes(self.buffer[:CHUNK_BYTES]), last=False)
            del self.buffer[:CHUNK_BYTES]
        return len(view)

    def _emit(self, plaintext: bytes, *, last: bool) -> None:
        sealed = self.aead.encrypt(_nonce(self.counter, last), plaintext, self.aad)
        self.out.write(b"C" + len(sealed).to_bytes(4, "big") + sealed)
        self.counter += 1
        if self.progress:
            self.progress(len(plaintext))

    def finish(self) -> None:
        self._emit(bytes(self.buffer), last=True)
        self.buffer.clear()


class _HashingReader:
    """Reads a file for tar while hashing and counting it."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle, self.digest, self.count = handle, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        self.count += len(data)
        return data


def vendor() -> str:
    return str(connection.vendor)


def _pg_tool(name: str) -> str:
    def version(path: str) -> int:
        match = re.search(r"/postgresql/(\d+)/", path)
        return int(match.group(1)) if match else 0

    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version)
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise BackupError(f"PostgreSQL's {name} was not found; install the PostgreSQL client (postgresql-client).")


def _pg_env() -> dict[str, str]:
    db = connection.settings_dict
    env = dict(os.environ)
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGDATABASE", "NAME")):
        if db.get(key):
            env[variable] = str(db[key])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])  # not in argv, where other users could read it
    # pg_dump and pg_restore reach the server the way the application does: over TLS with the
    # certificate checked when the settings say so (a remote server defaults to verify-full).
    for variable, option in (
        ("PGSSLMODE", "sslmode"),
        ("PGSSLROOTCERT", "sslrootcert"),
        ("PGSSLCERT", "sslcert"),
        ("PGSSLKEY", "sslkey"),
    ):
        value = (db.get("OPTIONS") or {}).get(option)
        if value:
            env[variable] = str(value)
    return env


def _run_pg(args: list[str], what: str) -> None:
    result = subprocess.run(args, env=_pg_env(), capture_output=True, text=True, check=False)  # noqa: S603 — fixed tool, our arguments
    if result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()[-1:] or ["no message"]
        raise BackupError(f"{what} failed ({detail[0][:300]}). Check DATABASE_URL and the server.")


def _snapshot_database(target: Path) -> None:
    """A consistent copy of the live database, taken while the service keeps writing."""
    if vendor() == "sqlite":
        source = sqlite3.connect(str(connection.settings_dict["NAME"]), timeout=30)
        copy = sqlite3.connect(str(target))
        try:
            # Pages in steps, so writers are not held up for the whole copy; SQLite restarts the copy
            # if a writer changes a page already copied, so the result is one consistent state.
            source.backup(copy, pages=4096)
        finally:
            copy.close()
            source.close()
    elif vendor() == "postgresql":
        _run_pg(
            [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(target)],
            "pg_dump",
        )
    else:
        raise BackupError(f"Backups of a {vendor()} database are not supported.")


def _upload_files() -> Iterator[tuple[str, Path]]:
    root = Path(settings.LEGIONARY_UPLOADS)
    if not root.exists():
        return
    for path in sorted(root.glob("*/*")):
        name = f"uploads/{path.parent.name}/{path.name}"
        if path.is_file() and _UPLOAD_MEMBER.match(name):  # skips ".part" files still being written
            yield name, path


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: dict[str, Any]


def _tar_add(tar: tarfile.TarFile, name: str, handle: BinaryIO, size: int) -> _HashingReader:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, 0
    reader = _HashingReader(handle)
    tar.addfile(info, reader)
    return reader


def check_destination(destination: Path) -> None:
    """Refuses, with a sentence, an archive path that exists or whose folder is missing or not writable."""
    if destination.exists():
        raise BackupError(f"{destination} already exists; give a new file name.")
    folder = destination.parent
    if not folder.is_dir():
        raise BackupError(
            f"The folder {folder} does not exist; create it (writable by user {_user()}) or give another path."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BackupError(f"User {_user()} cannot write in {folder}; give a folder it can write, or fix its owner.")


def _kek_versions_in_use() -> set[int]:
    from legionary.identity.models import SealedIdentity

    return set(SealedIdentity.objects.values_list("kek_version", flat=True).distinct())


def backup_create(*, destination: Path, progress: Progress | None = None, actor: str = "cli") -> BackupResult:
    """Writes an encrypted, signed archive of the database and uploads to ``destination``."""
    from legionary.audit.services import AuditError, audit_record, signer

    check_destination(destination)
    try:
        signing = signer()
    except AuditError as exc:
        raise BackupError(str(exc)) from None
    recipient = load_public_key()
    ephemeral = X25519PrivateKey.generate()
    key = _stream_key(ephemeral.exchange(recipient), _raw(ephemeral.public_key()), _raw(recipient))
    header = json.dumps(
        {
            "v": 1,
            "cipher": "x25519-hkdf-sha256-aes256gcm-stream",
            "ephemeral": base64.b64encode(_raw(ephemeral.public_key())).decode("ascii"),
            "recipient": key_id(recipient),
            "chunk": CHUNK_BYTES,
        },
        sort_keys=True,
    ).encode("ascii")
    preamble = MAGIC + len(header).to_bytes(4, "big") + header
    database_member = _DATABASE_MEMBER.get(vendor(), "database")
    partial = destination.with_name(destination.name + ".part")
    work = Path(tempfile.mkdtemp(prefix=".backup-", dir=settings.LEGIONARY_HOME))
    try:
        snapshot = work / database_member
        kek_versions = _kek_versions_in_use()
        _snapshot_database(snapshot)
        kek_versions |= _kek_versions_in_use()  # a rotation during the snapshot: both sides
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw_out:
            out = _HashingFile(raw_out)
            out.write(preamble)
            sealing = _SealingWriter(out, key, hashlib.sha256(preamble).digest(), progress)
            uploads_digest, upload_count, upload_bytes = hashlib.sha256(), 0, 0
            with tarfile.open(fileobj=sealing, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                with snapshot.open("rb") as handle:
                    database = _tar_add(tar, database_member, handle, snapshot.stat().st_size)
                for name, path in _upload_files():
                    try:
                        handle = path.open("rb")
                    except FileNotFoundError:
                        continue  # erased since the listing; the erasure journal covers it
                    with handle:
                        reader = _tar_add(tar, name, handle, os.fstat(handle.fileno()).st_size)
                    uploads_digest.update(f"{name}\x00{reader.count}\x00{reader.digest.hexdigest()}\n".encode())
                    upload_count, upload_bytes = upload_count + 1, upload_bytes + reader.count
            sealing.finish()
            manifest = {
                "format": "legionary-backup",
                "version": 1,
                "backup_id": uuid.uuid4().hex,
                "instance": settings.LEGIONARY_LOG_ORIGIN,
                "signer": str(signing.verifier),
                "created_at": datetime.now(UTC).isoformat(),
                "database": {
                    "vendor": vendor(),
                    "member": database_member,
                    "bytes": database.count,
                    "sha256": database.digest.hexdigest(),
                },
                "uploads": {"files": upload_count, "bytes": upload_bytes, "sha256": uploads_digest.hexdigest()},
                "plaintext_bytes": sealing.plaintext_bytes,
                "chunks": sealing.counter,
                "recipient": key_id(recipient),
                "keyring_included": False,
                "kek_versions": sorted(kek_versions),
            }
            body = json.dumps(manifest, sort_keys=True).encode("ascii")
            out.write(b"M" + len(body).to_bytes(4, "big") + body)
            raw_out.write(signing.private_key.sign(SIG_DOMAIN + out.digest.digest()))
            raw_out.flush()
            os.fsync(raw_out.fileno())
        os.replace(partial, destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="backup.created",
            details={
                "backup": str(manifest["backup_id"]),
                "vendor": vendor(),
                "bytes": destination.stat().st_size,
                "uploads": upload_count,
            },
        )
    return BackupResult(path=destination, manifest=manifest)


# --- reading -------------------------------------------------------------------------------------


class _ArchiveReader:
    """Parses an archive record by record, hashing every byte before the signature."""

    def __init__(self, handle: BinaryIO, path: Path) -> None:
        self.handle, self.path, self.digest = handle, path, hashlib.sha256()

    def _exact(self, size: int, *, hashed: bool = True) -> bytes:
        data = self.handle.read(size)
        if len(data) != size:
            raise ArchiveRejected(
                f"{self.path} is truncated (it ends in the middle); nothing was restored. Use a complete copy."
            )
        if hashed:
            self.digest.update(data)
        return data

    def preamble(self) -> tuple[bytes, dict[str, Any]]:
        magic = self.handle.read(len(MAGIC))
        if magic != MAGIC:
            raise ArchiveRejected(f"{self.path} is not a legionary backup; nothing was restored.")
        self.digest.update(magic)
        length_bytes = self._exact(4)
        length = int.from_bytes(length_bytes, "big")
        if length > MAX_META_BYTES:
            raise ArchiveRejected(f"{self.path} has a damaged header; nothing was restored.")
        header = self._exact(length)
        try:
            parsed = json.loads(header)
        except ValueError:
            raise ArchiveRejected(f"{self.path} has a damaged header; nothing was restored.") from None
        if not isinstance(parsed, dict):
            raise ArchiveRejected(f"{self.path} has a damaged header; nothing was restored.")
        return magic + length_bytes + header, parsed

    def records(self) -> Iterator[tuple[bytes, bytes]]:
        """(kind, payload) for each record up to and including the manifest."""
        while True:
            kind = self._exact(1)
            length = int.from_bytes(self._exact(4), "big")
            if kind == b"C" and length <= CHUNK_BYTES + 16:
                yield kind, self._exact(length)
            elif kind == b"M" and length <= MAX_META_BYTES:
                yield kind, self._exact(length)
                return
            else:
                raise ArchiveRejected(f"{self.path} is damaged (an unknown record); nothing was restored.")

    def signature(self) -> bytes:
        signature = self._exact(SIGNATURE_BYTES, hashed=False)
        if self.handle.read(1):
            raise ArchiveRejected(f"{self.path} has bytes after its signature; nothing was restored.")
        return signature


def archive_verify(source: Path) -> tuple[dict[str, Any], bytes]:
    """Checks the signature over every byte against this instance's key; returns (manifest, digest).

    Raises ``ArchiveRejected`` with a sentence for a truncated, tampered or foreign archive.
    """
    from legionary.audit import checkpoint as notes
    from legionary.audit.services import AuditError, signer

    try:
        ours = signer().verifier
    except AuditError as exc:
        raise BackupError(
            f"{exc} Restore the audit signing key (kept with the keyring) before restoring a backup."
        ) from None
    try:
        handle = source.open("rb")
    except OSError as exc:
        raise BackupError(f"Cannot read {source} ({exc.strerror}).") from None
    with handle:
        reader = _ArchiveReader(handle, source)
        reader.preamble()
        manifest_bytes = b""
        for kind, payload in reader.records():
            if kind == b"M":
                manifest_bytes = payload
        digest = reader.digest.digest()
        signature = reader.signature()
    try:
        manifest = json.loads(manifest_bytes)
        if not isinstance(manifest, dict):
            raise ValueError
    except ValueError:
        manifest = {}
    try:
        ours.public_key.verify(signature, SIG_DOMAIN + digest)
    except InvalidSignature:
        named = manifest.get("signer")
        if isinstance(named, str) and named != str(ours):
            try:
                theirs = notes.parse_verifier_key(named)
                theirs.public_key.verify(signature, SIG_DOMAIN + digest)
            except (notes.CheckpointError, InvalidSignature):
                pass
            else:
                raise ArchiveRejected(
                    f"{source} was made by another instance ({theirs.name}, key {theirs.key_id.hex()}), not this "
                    "one; nothing was restored. Restore it where its audit signing key is installed."
                ) from None
        raise ArchiveRejected(
            f"{source} has been altered or damaged (its signature does not match); nothing was restored. "
            "Use an intact copy."
        ) from None
    return manifest, digest


class _OpeningReader:
    """The decrypted tar stream of an archive, chunk by chunk (for ``tarfile`` in stream mode)."""

    def __init__(self, reader: _ArchiveReader, key: bytes, aad: bytes, progress: Progress | None) -> None:
        self.records = reader.records()
        self.aead, self.aad, self.progress = AESGCM(key), aad, progress
        self.buffer = b""
        self.counter = 0
        self.finished = False
        self.manifest = b""

    def read(self, size: int = -1) -> bytes:
        while not self.finished and (size < 0 or len(self.buffer) < size):
            self._next_chunk()
        if size < 0:
            size = len(self.buffer)
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _next_chunk(self) -> None:
        kind, payload = next(self.records)
        if kind != b"C":
            raise ArchiveRejected("The backup ends without its last chunk; nothing was restored.")
        for last in (False, True):
            try:
                plaintext = self.aead.decrypt(_nonce(self.counter, last), payload, self.aad)
            except InvalidTag:
                continue
            self.counter += 1
            self.buffer += plaintext
            if self.progress:
                self.progress(len(plaintext))
            if last:
                self.finished = True
                kind, self.manifest = next(self.records)
                if kind != b"M":
                    raise ArchiveRejected("The backup has chunks after its last one; nothing was restored.")
            return
        raise BackupError(
            "This backup was not encrypted to the given private backup key; give the key that matches "
            "the backup.pub in use when the backup was made."
        )


@dataclass(frozen=True)
class RestoreResult:
    manifest: dict[str, Any]
    erasures_reapplied: int


def _stage(source: Path, private_key: X25519PrivateKey, digest: bytes, work: Path, progress: Progress | None) -> Path:
    """Decrypts and unpacks the archive into ``work``; returns the staged database file."""
    staged_uploads = work / "uploads"
    staged_uploads.mkdir(mode=0o700)
    database: Path | None = None
    with source.open("rb") as handle:
        reader = _ArchiveReader(handle, source)
        preamble, header = reader.preamble()
        try:
            ephemeral = X25519PublicKey.from_public_bytes(base64.b64decode(str(header["ephemeral"])))
        except (KeyError, ValueError):
            raise ArchiveRejected(f"{source} has a damaged header; nothing was restored.") from None
        if header.get("recipient") != key_id(private_key.public_key()):
            raise BackupError("This backup was encrypted to another backup key; give the private key that matches it.")
        key = _stream_key(private_key.exchange(ephemeral), _raw(ephemeral), _raw(private_key.public_key()))
        opening = _OpeningReader(reader, key, hashlib.sha256(preamble).digest(), progress)
        with tarfile.open(fileobj=opening, mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                if not member.isfile():
                    raise ArchiveRejected(f"{source} holds an unexpected entry; nothing was restored.")
                if member.name in _DATABASE_MEMBER.values() and database is None:
                    target = work / member.name
                elif _UPLOAD_MEMBER.match(member.name):
                    target = staged_uploads / member.name.removeprefix("uploads/")
                    target.parent.mkdir(mode=0o700, exist_ok=True)
                else:
                    raise ArchiveRejected(f"{source} holds an unexpected entry; nothing was restored.")
                extracted = tar.extractfile(member)
                if extracted is None:
                    raise ArchiveRejected(f"{source} holds an unexpected entry; nothing was restored.")
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(extracted, out, 1024 * 1024)
                if target.parent == work:
                    database = target
        # Read to the end so the signature is read and the bytes are hashed again.
        while not opening.finished:
            opening.read(CHUNK_BYTES)
        reader.signature()
        if reader.digest.digest() != digest:
            raise ArchiveRejected(f"{source} changed while it was being restored; nothing was restored.")
    if database is None:
        raise ArchiveRejected(f"{source} holds no database; nothing was restored.")
    return database


def _check_staged(manifest: dict[str, Any], database: Path, uploads: Path) -> None:
    entry = manifest.get("database") or {}
    if entry.get("vendor") != vendor():
        raise BackupError(
            f"This backup is of a {entry.get('vendor')} database, but this instance uses {vendor()}; "
            "restore it into an instance of the same kind."
        )
    if _file_sha256(database) != entry.get("sha256"):
        raise ArchiveRejected("The database inside the backup does not match its manifest; nothing was restored.")
    digest, count = hashlib.sha256(), 0
    for path in sorted(uploads.glob("*/*")):
        name = f"uploads/{path.parent.name}/{path.name}"
        digest.update(f"{name}\x00{path.stat().st_size}\x00{_file_sha256(path)}\n".encode())
        count += 1
    listed = manifest.get("uploads") or {}
    if count != listed.get("files") or digest.hexdigest() != listed.get("sha256"):
        raise ArchiveRejected("The uploads inside the backup do not match its manifest; nothing was restored.")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _replace_database(staged: Path) -> None:
    connections.close_all()
    if vendor() == "sqlite":
        source = sqlite3.connect(str(staged))
        live = sqlite3.connect(str(connection.settings_dict["NAME"]), timeout=30)
        try:
            source.backup(live)
        finally:
            live.close()
            source.close()
    else:
        _run_pg(
            [
                _pg_tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
                str(connection.settings_dict["NAME"]),
                str(staged),
            ],
            "pg_restore",
        )


def _replace_uploads(staged: Path) -> None:
    live = Path(settings.LEGIONARY_UPLOADS)
    old = live.with_name(f".uploads-replaced-{uuid.uuid4().hex}")
    if live.exists():
        live.rename(old)
    staged.rename(live)
    shutil.rmtree(old, ignore_errors=True)


def _reapply_erasures() -> int:
    from legionary.identity.erasure_journal import journal_entries
    from legionary.identity.models import Person
    from legionary.identity.services import erase_person_data

    done = 0
    for entry in journal_entries():
        person = Person.objects.filter(id=entry.person_id, erased_at__isnull=True).first()
        if person is None:
            continue
        erase_person_data(
            person=person,
            actor_name="restore",
            reason=f"erasure of {entry.erased_at:%Y-%m-%d %H:%M} re-applied after restoring a backup",
            keep_indexes=entry.keep_indexes,
        )
        done += 1
    return done


def backup_restore(
    *, source: Path, private_key_path: Path, progress: Progress | None = None, actor: str = "cli"
) -> RestoreResult:
    """Verifies, decrypts and restores an archive into the configured database and uploads folder."""
    from django.core.management import call_command

    from legionary.audit.services import audit_record, checkpoint_now

    manifest, digest = archive_verify(source)
    private_key = load_private_key(private_key_path)
    work = Path(tempfile.mkdtemp(prefix=".restore-", dir=settings.LEGIONARY_HOME))
    try:
        database = _stage(source, private_key, digest, work, progress)
        _check_staged(manifest, database, work / "uploads")
        versions = manifest.get("kek_versions")
        _check_keyring_opens(database, [int(v) for v in versions] if isinstance(versions, list) else None)
        # Everything is verified: from here on the live instance is replaced.
        _replace_database(database)
        _replace_uploads(work / "uploads")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    call_command("migrate", interactive=False, verbosity=0)
    # The log is now the backup's: the checkpoint kept beside the keyring (of the log replaced) is
    # set aside, named in the restore's entry, and a fresh one of the restored log is kept.
    aside = kept_checkpoint.set_aside(f"before-restore-{manifest.get('backup_id', 'unknown')}")
    aside_size = kept_checkpoint.note_size(aside.read_text(encoding="utf-8")) if aside is not None else None
    reapplied = _reapply_erasures()
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="backup.restored",
            details={
                "backup": str(manifest.get("backup_id", "")),
                "backup_created_at": str(manifest.get("created_at", "")),
                "erasures_reapplied": reapplied,
                "kept_checkpoint_set_aside": aside.name if aside is not None else "",
                "kept_checkpoint_size": aside_size if aside_size is not None else -1,
            },
        )
    checkpoint_now()
    return RestoreResult(manifest=manifest, erasures_reapplied=reapplied)


def _check_keyring_opens(database: Path, listed: list[int] | None) -> None:
    """Refuses, before anything is written, a restore whose data keys the installed keyring cannot open."""
    from legionary.identity.services import IdentityError, check_keyring_opens

    samples = _kek_samples(database, listed)
    try:
        check_keyring_opens(samples)
    except IdentityError as exc:
        raise BackupError(f"{exc} Nothing was restored.") from None


_SEALED_TABLE: Final = "identity_sealedidentity"


def _kek_samples(database: Path, listed: list[int] | None) -> dict[int, tuple[str, bytes]]:
    """One (person id, wrapped data key) per key-encryption-key version in a staged database.

    ``listed`` is the manifest's list of the versions in use when the backup was made: once each
    has its sample the reading stops (an archive without the list is read to the end).
    """
    if database.name == _DATABASE_MEMBER["sqlite"]:
        staged = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            rows = staged.execute(
                f"SELECT kek_version, person_id, wrapped_dek FROM {_SEALED_TABLE} "  # noqa: S608 — a constant
                f"WHERE rowid IN (SELECT MIN(rowid) FROM {_SEALED_TABLE} GROUP BY kek_version)"
            ).fetchall()
        except sqlite3.OperationalError:
            rows = []  # no identity table: nothing sealed to open
        finally:
            staged.close()
        return {int(version): (str(person), bytes(wrapped)) for version, person, wrapped in rows}
    return _pg_kek_samples(database, set(listed) if listed is not None else None)


def _pg_kek_samples(database: Path, listed: set[int] | None) -> dict[int, tuple[str, bytes]]:
    # A pg_dump archive: pg_restore prints the table's rows as COPY text, without any server.
    samples: dict[int, tuple[str, bytes]] = {}
    command = [_pg_tool("pg_restore"), "--data-only", "--table", _SEALED_TABLE, "--file", "-", str(database)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603 — fixed tool, our arguments
    stdout, stderr = process.stdout, process.stderr
    if stdout is None or stderr is None:  # cannot happen with PIPE; keeps the types exact
        raise BackupError("pg_restore could not be started.")
    columns: list[str] | None = None
    complete = False
    try:
        for line in stdout:
            if columns is None:
                if line.startswith("COPY ") and f"{_SEALED_TABLE} (" in line:
                    columns = [c.strip().strip('"') for c in line.split("(", 1)[1].split(")", 1)[0].split(",")]
                continue
            if line.startswith("\\."):
                complete = True
                break
            values = dict(zip(columns, line.rstrip("\n").split("\t"), strict=False))
            version = int(values["kek_version"])
            if version not in samples:
                samples[version] = (values["person_id"], _copy_bytea(values["wrapped_dek"]))
                if listed is not None and listed <= samples.keys():
                    complete = True
                    break
        else:
            complete = columns is None  # no such table in the dump: nothing sealed to open
    finally:
        if process.poll() is None and complete:
            process.kill()  # the rest of the table is not needed
        errors = stderr.read()
        stdout.close()
        stderr.close()
        process.wait()
    if not complete and process.returncode != 0:
        detail = errors.strip().splitlines()[-1:] or ["no message"]
        raise BackupError(f"pg_restore could not read the backup's database ({detail[0][:300]}).")
    return samples


def _copy_bytea(text: str) -> bytes:
    """A bytea value in COPY text format: ``\\x`` and hex digits (the backslash itself escaped)."""
    hexdigits = text.removeprefix("\\\\x").removeprefix("\\x")
    return bytes.fromhex(hexdigits)


def progress_bar_target() -> IO[str] | None:
    """stderr when it is a terminal (the progress bar's place), otherwise None."""
    import sys

    return sys.stderr if sys.stderr.isatty() else None
