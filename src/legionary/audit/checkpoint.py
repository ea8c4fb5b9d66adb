"""Signed checkpoints of the audit log: C2SP ``tlog-checkpoint`` bodies in C2SP ``signed-note``s.

Responsible for:

* formatting and strictly parsing the checkpoint body (origin line, decimal tree size,
  base64 root hash, optional extension lines; every line ends in a newline);
* Ed25519 signed notes: signing, verifying against a verifier key, and the text forms
  of keys (``<name>+<hex key id>+<base64(0x01 || public key)>`` for verifiers,
  ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`` for signers), so that
  checkpoints can be copied off the machine and checked by any C2SP-compatible tool;
* reporting every malformed or unverifiable input as a ``CheckpointError`` subclass
  that says what is wrong.

It must never:

* return note text whose signature it has not verified (``verify_note`` is the only
  way to get text out of a note here);
* let an unexpected exception type escape from parsing untrusted input;
* persist, log or print private keys (``SignerKey`` hides its seed from ``repr``);
* decide policy: which key is trusted, and whether an origin is the expected one, are
  the caller's decisions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

__all__ = [
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "BadSignatureError",
    "Checkpoint",
    "CheckpointError",
    "MalformedCheckpointError",
    "MalformedKeyError",
    "MalformedNoteError",
    "SignerKey",
    "UnknownKeyError",
    "VerifierKey",
    "format_checkpoint",
    "generate_key",
    "key_id",
    "open_checkpoint",
    "parse_checkpoint",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_note",
    "verify_note",
]

ED25519_TYPE: Final = 0x01
"""C2SP signed-note signature type byte for Ed25519."""

SIGNATURE_PREFIX: Final = "\u2014 "
"""Em dash U+2014 then a space: the start of every signature line."""

MAX_SIGNATURES: Final = 100
"""Notes with more signature lines are rejected (the spec requires accepting 16)."""

MAX_NOTE_BYTES: Final = 1 << 20
"""Notes larger than this are rejected before any parsing work."""

_HASH_SIZE: Final = 32
_MAX_TREE_SIZE: Final = (1 << 64) - 1
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]*")  # [0-9], not \d: no Unicode digits
_HEX_KEY_ID: Final = re.compile(r"[0-9a-f]{8}")


# --------------------------------------------------------------------------- errors


class CheckpointError(ValueError):
    """Base class of every error raised by this module."""


class MalformedCheckpointError(CheckpointError):
    """The checkpoint body does not follow c2sp.org/tlog-checkpoint."""


class MalformedNoteError(CheckpointError):
    """The note does not follow c2sp.org/signed-note."""


class MalformedKeyError(CheckpointError):
    """A key name or key string is not in the expected format."""


class UnknownKeyError(CheckpointError):
    """The note carries no signature from the verifier key (by name and key id)."""


class BadSignatureError(CheckpointError):
    """A signature from the verifier key does not verify: the note was altered."""


# --------------------------------------------------------------------------- helpers


def _b64decode(text: str, what: str, error: type[CheckpointError]) -> bytes:
    """Strict standard base64: padded, no whitespace, canonical (re-encodes identically)."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise error(f"{what} is not valid base64") from None
    # Non-canonical encodings (stray bits in the padding) would let one value have
    # several spellings; a checkpoint must have exactly one.
    if base64.b64encode(raw).decode("ascii") != text:
        raise error(f"{what} is not canonical base64")
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _check_text(text: str, what: str, error: type[CheckpointError]) -> None:
    """Valid UTF-8 and no ASCII control characters other than newline (signed-note)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise error(f"{what} is not valid UTF-8 (lone surrogate)") from None
    for ch in text:
        if ch < " " and ch != "\n":
            raise error(f"{what} contains the control character U+{ord(ch):04X}")


def _check_key_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise MalformedKeyError("key name must be a non-empty string")
    for ch in name:
        # "Unicode spaces" per the spec: whitespace and the space separators.
        if ch == "+" or ch.isspace() or unicodedata.category(ch) == "Zs":
            raise MalformedKeyError(f"key name {name!r} contains a space or '+'")
        if ch < " " or ch == "\x7f":
            raise MalformedKeyError(f"key name {name!r} contains a control character")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedKeyError("key name is not valid UTF-8") from None


def key_id(name: str, public_key: bytes) -> bytes:
    """C2SP key ID: SHA-256(name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]."""
    _check_key_name(name)
    if len(public_key) != 32:
        raise MalformedKeyError("an Ed25519 public key is 32 bytes")
    material = name.encode("utf-8") + b"\n" + bytes([ED25519_TYPE]) + public_key
    return hashlib.sha256(material).digest()[:4]


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class VerifierKey:
    """A public key that checks signatures of one name (c2sp.org/signed-note)."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey = field(compare=False)
    public_bytes: bytes

    @classmethod
    def from_public_key(cls, name: str, public_key: Ed25519PublicKey) -> VerifierKey:
        raw = _public_bytes(public_key)
        return cls(name, key_id(name, raw), public_key, raw)

    def __str__(self) -> str:
        raw = bytes([ED25519_TYPE]) + self.public_bytes
        return f"{self.name}+{self.key_id.hex()}+{_b64(raw)}"


@dataclass(frozen=True)
class SignerKey:
    """A private Ed25519 key and the name it signs as. Its ``repr`` hides the seed."""

    name: str
    key_id: bytes
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)

    @property
    def verifier(self) -> VerifierKey:
        return VerifierKey.from_public_key(self.name, self.private_key.public_key())

    def to_private_string(self) -> str:
        """``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>``: a secret."""
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        raw = bytes([ED25519_TYPE]) + seed
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{_b64(raw)}"

    def sign(self, text: str) -> str:
        return sign_note(text, self.name, self.private_key)


def generate_key(name: str) -> SignerKey:
    """A fresh Ed25519 signer for ``name`` (a schema-less URL is recommended)."""
    _check_key_name(name)
    private_key = Ed25519PrivateKey.generate()
    return SignerKey(name, key_id(name, _public_bytes(private_key.public_key())), private_key)


def _split_key(text: str, parts: int, what: str) -> list[str]:
    if not isinstance(text, str):
        raise MalformedKeyError(f"{what} must be a string")
    # Split only as often as there are fields: base64 key material may contain '+',
    # names may not, so the last field takes the rest.
    fields = text.strip().split("+", parts - 1)
    if len(fields) != parts:
        raise MalformedKeyError(f"{what} must have {parts} '+'-separated fields")
    return fields


def _parse_key_fields(name: str, hex_id: str, b64: str, what: str) -> tuple[bytes, bytes]:
    _check_key_name(name)
    if not _HEX_KEY_ID.fullmatch(hex_id):
        raise MalformedKeyError(f"{what} key id must be 8 lowercase hex digits")
    raw = _b64decode(b64, f"{what} key material", MalformedKeyError)
    if len(raw) != 33 or raw[0] != ED25519_TYPE:
        raise MalformedKeyError(f"{what} is not an Ed25519 (type 0x01) key")
    return bytes.fromhex(hex_id), raw[1:]


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse ``<name>+<hex key id>+<base64(0x01 || public key)>``; checks the key id."""
    name, hex_id, b64 = _split_key(text, 3, "verifier key")
    claimed_id, raw = _parse_key_fields(name, hex_id, b64, "verifier key")
    if key_id(name, raw) != claimed_id:
        raise MalformedKeyError("verifier key id does not match its name and public key")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise MalformedKeyError("verifier key is not a valid Ed25519 public key") from None
    return VerifierKey(name, claimed_id, public_key, raw)


def parse_signer_key(text: str) -> SignerKey:
    """Parse ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>``."""
    fields = _split_key(text, 5, "private key")
    if fields[0] != "PRIVATE" or fields[1] != "KEY":
        raise MalformedKeyError("private key must start with PRIVATE+KEY+")
    name, hex_id, b64 = fields[2:]
    claimed_id, seed = _parse_key_fields(name, hex_id, b64, "private key")
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    if key_id(name, _public_bytes(private_key.public_key())) != claimed_id:
        raise MalformedKeyError("private key id does not match its name and key")
    return SignerKey(name, claimed_id, private_key)


# --------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class Checkpoint:
    """The tree head a checkpoint commits to."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def to_text(self) -> str:
        return format_checkpoint(self.origin, self.size, self.root_hash, self.extensions)


def format_checkpoint(origin: str, size: int, root_hash: bytes, extensions: Iterable[str] = ()) -> str:
    """The checkpoint body: origin, size, base64 root and extension lines, each + newline."""
    extensions = tuple(extensions)
    for what, line in [
        ("origin", origin),
        *(("extension line", e) for e in extensions),
    ]:
        if not isinstance(line, str) or not line:
            raise MalformedCheckpointError(f"{what} must be a non-empty string")
        if "\n" in line:
            raise MalformedCheckpointError(f"{what} must be a single line")
        _check_text(line, what, MalformedCheckpointError)
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= _MAX_TREE_SIZE:
        raise MalformedCheckpointError(f"tree size must be an int in [0, 2**64), got {size!r}")
    if not isinstance(root_hash, bytes) or len(root_hash) != _HASH_SIZE:
        raise MalformedCheckpointError("root hash must be 32 bytes")
    lines = [origin, str(size), _b64(root_hash), *extensions]
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str | bytes) -> Checkpoint:
    """Strictly parse a checkpoint body; raises ``MalformedCheckpointError`` and only that.

    Takes the *verified* note text (see ``verify_note`` / ``open_checkpoint``): parsing
    says nothing about who wrote it.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedCheckpointError("checkpoint is not valid UTF-8") from None
    if not isinstance(text, str):
        raise MalformedCheckpointError("checkpoint must be text")
    if len(text) > MAX_NOTE_BYTES:
        raise MalformedCheckpointError("checkpoint is too large")
    _check_text(text, "checkpoint", MalformedCheckpointError)
    if not text.endswith("\n"):
        raise MalformedCheckpointError("checkpoint must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedCheckpointError("checkpoint needs origin, size and root hash lines")
    if any(not line for line in lines):
        raise MalformedCheckpointError("checkpoint lines must be non-empty")
    origin, size_line, root_line, *extensions = lines
    if not _DECIMAL.fullmatch(size_line):
        raise MalformedCheckpointError("tree size must be ASCII decimal digits without leading zeroes")
    size = int(size_line)
    if size > _MAX_TREE_SIZE:
        raise MalformedCheckpointError("tree size does not fit in 64 bits")
    root_hash = _b64decode(root_line, "root hash", MalformedCheckpointError)
    if len(root_hash) != _HASH_SIZE:
        raise MalformedCheckpointError(f"root hash must be {_HASH_SIZE} bytes")
    return Checkpoint(origin, size, root_hash, tuple(extensions))


# --------------------------------------------------------------------------- notes


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign ``text`` (which must end in a newline) and return the signed note."""
    _check_key_name(name)
    if not isinstance(text, str) or not text.endswith("\n"):
        raise MalformedNoteError("note text must be a string ending in a newline")
    _check_text(text, "note text", MalformedNoteError)
    public = _public_bytes(private_key.public_key())
    signature = private_key.sign(text.encode("utf-8"))
    line = f"{SIGNATURE_PREFIX}{name} {_b64(key_id(name, public) + signature)}\n"
    note = f"{text}\n{line}"
    if len(note.encode("utf-8")) > MAX_NOTE_BYTES:
        raise MalformedNoteError("signed note would exceed the size limit")
    return note


@dataclass(frozen=True)
class _SignatureLine:
    name: str
    key_id: bytes
    signature: bytes


def _parse_note(note: str | bytes) -> tuple[str, list[_SignatureLine]]:
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE_BYTES:
            raise MalformedNoteError("note is too large")
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedNoteError("note is not valid UTF-8") from None
    if not isinstance(note, str):
        raise MalformedNoteError("note must be text")
    if len(note) > MAX_NOTE_BYTES:
        raise MalformedNoteError("note is too large")
    _check_text(note, "note", MalformedNoteError)
    if not note.endswith("\n"):
        raise MalformedNoteError("note must end with a newline")
    # The text ends at the last blank line; the text itself may contain blank lines.
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    raw_lines = block[:-1].split("\n")
    if len(raw_lines) > MAX_SIGNATURES:
        raise MalformedNoteError(f"note has more than {MAX_SIGNATURES} signatures")
    signatures: list[_SignatureLine] = []
    for number, line in enumerate(raw_lines, start=1):
        if not line.startswith(SIGNATURE_PREFIX):
            raise MalformedNoteError(f"signature line {number} does not start with '\u2014 '")
        fields = line[len(SIGNATURE_PREFIX) :].split(" ")
        if len(fields) != 2:
            raise MalformedNoteError(f"signature line {number} is not '\u2014 <name> <base64>'")
        name, b64 = fields
        try:
            _check_key_name(name)
        except MalformedKeyError as exc:
            raise MalformedNoteError(f"signature line {number}: {exc}") from None
        raw = _b64decode(b64, f"signature line {number}", MalformedNoteError)
        if len(raw) < 5:
            raise MalformedNoteError(f"signature line {number} is too short")
        signatures.append(_SignatureLine(name, raw[:4], raw[4:]))
    return text, signatures


def verify_note(note: str | bytes, verifier_key: str | VerifierKey) -> str:
    """Verify ``note`` against one trusted key and return its text.

    Signature lines from other keys are ignored (as the spec requires); every line from
    this key (same name *and* key id) must verify. Raises ``MalformedNoteError``,
    ``MalformedKeyError``, ``UnknownKeyError`` or ``BadSignatureError``.
    """
    key = verifier_key if isinstance(verifier_key, VerifierKey) else parse_verifier_key(verifier_key)
    text, signatures = _parse_note(note)
    mine = [s for s in signatures if s.name == key.name and s.key_id == key.key_id]
    if not mine:
        raise UnknownKeyError(f"note has no signature by {key.name}+{key.key_id.hex()}")
    message = text.encode("utf-8")
    for signature in mine:
        try:
            key.public_key.verify(signature.signature, message)
        except InvalidSignature:
            raise BadSignatureError(
                f"signature by {key.name}+{key.key_id.hex()} does not verify: the note text or signature was altered"
            ) from None
    return text


def open_checkpoint(note: str | bytes, verifier_key: str | VerifierKey) -> Checkpoint:
    """Verify a signed checkpoint note and parse its body."""
    return parse_checkpoint(verify_note(note, verifier_key))
