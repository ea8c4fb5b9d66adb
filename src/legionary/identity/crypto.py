"""Sealing primitives for identities: values, uploaded files and blind indexes.

This module is responsible for turning plaintext into authenticated ciphertext under a person's
data key (DEK) and back, and for computing keyed blind indexes. It is pure Python over
``cryptography`` and knows nothing about Django, the database or where keys come from.

What it guarantees:

* ``seal``/``open_sealed``: AES-256-GCM with a random 96-bit nonce and associated data that binds
  the blob to one person, one kind of value and one key version. A blob copied to another person or
  field, or relabelled with another key version, does not open.
* ``encrypt_stream``/``decrypt_stream``: a chunked AEAD in the STREAM construction (Hoang,
  Reyhanitabar, Rogaway and Vizár, 2015), so a scanned document is never held whole in memory and
  truncation, reordering, duplication and extension of chunks are all detected.
* ``blind_index``: HMAC-SHA-256 truncated to a chosen width, for duplicate search without
  decryption.

What it must never do:

* never log, print or put plaintext or key bytes in an exception message or ``repr``;
* never fall back to plaintext, and never return ciphertext as if it were the value: a value that
  does not open raises ``SealBrokenError`` (some encrypted-field libraries return the ciphertext,
  which has corrupted data on re-save);
* never use deterministic encryption for search: equality search goes through ``blind_index``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from typing import BinaryIO, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEK_BYTES",
    "BlindIndexer",
    "SealBrokenError",
    "blind_index",
    "canonical_aad",
    "decrypt_stream",
    "encrypt_stream",
    "new_dek",
    "open_sealed",
    "seal",
]

DEK_BYTES: Final = 32  # AES-256
NONCE_BYTES: Final = 12  # the 96-bit nonce GCM is designed for
TAG_BYTES: Final = 16

# One byte in front of every sealed value, so the layout can change later without guessing.
SEAL_FORMAT: Final = 1
_SEAL_OVERHEAD: Final = 1 + NONCE_BYTES + TAG_BYTES

# Stream header: format byte, chunk size (u32, big-endian), 7-byte random nonce prefix. Each chunk
# nonce is prefix || counter (u32, big-endian) || last-chunk flag (one byte), as in STREAM.
STREAM_FORMAT: Final = 1
_NONCE_PREFIX_BYTES: Final = 7
_STREAM_HEADER: Final = struct.Struct(">BI7s")
_MAX_CHUNKS: Final = 2**32  # the counter is 32 bits; past this a nonce would repeat
DEFAULT_CHUNK_SIZE: Final = 64 * 1024
# A header is read before it is authenticated, so bound the chunk size it may ask us to buffer.
MAX_CHUNK_SIZE: Final = 16 * 1024 * 1024

_SEAL_DOMAIN: Final = b"legionary/seal"
_STREAM_DOMAIN: Final = b"legionary/stream"
# Stream chunks are encrypted under a key derived from the DEK rather than the DEK itself, so their
# structured nonces live in a different key's nonce space from the random nonces of ``seal``.
_STREAM_KEY_INFO: Final = b"legionary/stream-key/v1"
_U64_MAX: Final = 2**64 - 1


class SealBrokenError(Exception):
    """A sealed value or stream did not open: wrong key, wrong context, or altered bytes.

    The message never contains plaintext, ciphertext or key material.
    """


def new_dek() -> bytes:
    """Return a fresh random 256-bit data key for one person."""
    return os.urandom(DEK_BYTES)


def canonical_aad(*parts: bytes | str | int) -> bytes:
    """Encode parts unambiguously as associated data.

    Each part is tagged with its type and prefixed with its length, so no two different tuples share
    an encoding (``("ab", "c")`` and ``("a", "bc")`` differ). Strings are UTF-8; integers are
    unsigned 64-bit big-endian.
    """
    out = bytearray()
    for part in parts:
        if isinstance(part, bool):
            # bool is an int subclass; refusing it avoids True silently meaning version 1.
            raise TypeError("canonical_aad does not accept booleans")
        if isinstance(part, int):
            if not 0 <= part <= _U64_MAX:
                raise ValueError("integers in associated data must fit in an unsigned 64-bit value")
            out += b"i" + struct.pack(">Q", part)
        elif isinstance(part, str):
            encoded = part.encode("utf-8")
            out += b"s" + struct.pack(">I", len(encoded)) + encoded
        elif isinstance(part, bytes):
            out += b"b" + struct.pack(">I", len(part)) + part
        else:
            raise TypeError(f"canonical_aad cannot encode {type(part).__name__}")
    return bytes(out)


def _check_dek(dek: bytes) -> None:
    # The message names the length only: the key itself must never reach a log.
    if not isinstance(dek, bytes) or len(dek) != DEK_BYTES:
        raise ValueError(f"a data key must be {DEK_BYTES} bytes")


def _check_context(person_id: str, kind: str) -> None:
    # An empty person id or kind would make the binding meaningless, so refuse it loudly.
    if not isinstance(person_id, str) or not person_id:
        raise ValueError("person_id must be a non-empty string")
    if not isinstance(kind, str) or not kind:
        raise ValueError("kind must be a non-empty string")


def _seal_aad(person_id: str, kind: str, key_version: int) -> bytes:
    return canonical_aad(_SEAL_DOMAIN, SEAL_FORMAT, person_id, kind, key_version)


def seal(dek: bytes, plaintext: bytes, *, person_id: str, kind: str, key_version: int) -> bytes:
    """Encrypt ``plaintext`` for one person and one kind of value.

    Returns ``format (1 byte) || nonce (12) || ciphertext || tag (16)``. The nonce is random: a DEK
    belongs to one person and seals a handful of values, far below the 2**32 messages at which
    random 96-bit nonces start to risk a repeat.
    """
    _check_dek(dek)
    _check_context(person_id, kind)
    nonce = os.urandom(NONCE_BYTES)
    aad = _seal_aad(person_id, kind, key_version)
    return bytes([SEAL_FORMAT]) + nonce + AESGCM(dek).encrypt(nonce, plaintext, aad)


def open_sealed(dek: bytes, blob: bytes, *, person_id: str, kind: str, key_version: int) -> bytes:
    """Decrypt a blob made by ``seal`` with the same key and context, or raise ``SealBrokenError``."""
    _check_dek(dek)
    _check_context(person_id, kind)
    if len(blob) < _SEAL_OVERHEAD:
        raise SealBrokenError("The sealed value is too short to be one; it was truncated or is not a sealed value.")
    if blob[0] != SEAL_FORMAT:
        raise SealBrokenError(
            f"The sealed value has format {blob[0]}, which this version of legionary does not understand."
        )
    nonce = blob[1 : 1 + NONCE_BYTES]
    aad = _seal_aad(person_id, kind, key_version)
    try:
        return AESGCM(dek).decrypt(nonce, blob[1 + NONCE_BYTES :], aad)
    except InvalidTag:
        # ``from None``: the original exception adds nothing and we keep the chain free of data.
        raise SealBrokenError(
            "The sealed value does not open: it was altered, or belongs to another person, kind, "
            "key version or data key."
        ) from None


def _stream_cipher(dek: bytes) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=DEK_BYTES, salt=None, info=_STREAM_KEY_INFO).derive(dek)
    return AESGCM(key)


def _chunk_nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= _MAX_CHUNKS:
        raise ValueError("the stream has more chunks than a 32-bit counter can number")
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


def _read_full(src: BinaryIO, size: int) -> bytes:
    """Read exactly ``size`` bytes, or fewer only at end of stream (pipes and sockets read short)."""
    first = src.read(size)
    if first is None:
        # Non-blocking streams return None when no data is ready; we need blocking reads.
        raise ValueError("the source stream is non-blocking; pass a blocking stream")
    if len(first) == size or not first:
        return first
    parts = [first]
    remaining = size - len(first)
    while remaining:
        more = src.read(remaining)
        if more is None:
            raise ValueError("the source stream is non-blocking; pass a blocking stream")
        if not more:
            break
        parts.append(more)
        remaining -= len(more)
    return b"".join(parts)


def encrypt_stream(
    dek: bytes,
    src: BinaryIO,
    dst: BinaryIO,
    *,
    person_id: str,
    kind: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> int:
    """Encrypt ``src`` into ``dst`` chunk by chunk; return the number of plaintext bytes read.

    Memory stays at about two chunks whatever the size of the file. Every chunk's associated data
    contains the header, the person id and the kind, so a stream moved to another person or kind,
    or given a forged header, does not open. An empty source still yields one (empty) final chunk,
    so an emptied file cannot pass for a complete one.
    """
    _check_dek(dek)
    _check_context(person_id, kind)
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE} bytes")
    prefix = os.urandom(_NONCE_PREFIX_BYTES)
    header = _STREAM_HEADER.pack(STREAM_FORMAT, chunk_size, prefix)
    aad = canonical_aad(_STREAM_DOMAIN, person_id, kind, header)
    cipher = _stream_cipher(dek)
    dst.write(header)

    total = 0
    counter = 0
    current = _read_full(src, chunk_size)
    while True:
        # Read one chunk ahead: only then do we know whether the current chunk is the last one,
        # which its nonce must say.
        following = _read_full(src, chunk_size) if len(current) == chunk_size else b""
        last = not following
        dst.write(cipher.encrypt(_chunk_nonce(prefix, counter, last), current, aad))
        total += len(current)
        if last:
            return total
        counter += 1
        current = following


def decrypt_stream(dek: bytes, src: BinaryIO, dst: BinaryIO, *, person_id: str, kind: str) -> int:
    """Decrypt a stream made by ``encrypt_stream``; return the number of plaintext bytes written.

    A chunk's plaintext is written only after that chunk has authenticated, with the right position
    and the right last-chunk flag, so no unauthenticated byte is ever written. But a stream is
    verified as a whole only when its final chunk opens: if this raises ``SealBrokenError`` after
    some chunks were written (a truncated or extended file), the caller MUST discard everything
    written to ``dst``.
    """
    _check_dek(dek)
    _check_context(person_id, kind)
    header = _read_full(src, _STREAM_HEADER.size)
    if len(header) != _STREAM_HEADER.size:
        raise SealBrokenError("The encrypted file is shorter than its header; it was truncated.")
    fmt, chunk_size, prefix = _STREAM_HEADER.unpack(header)
    if fmt != STREAM_FORMAT:
        raise SealBrokenError(
            f"The encrypted file has format {fmt}, which this version of legionary does not understand."
        )
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise SealBrokenError("The encrypted file's header names an impossible chunk size; it was altered.")
    aad = canonical_aad(_STREAM_DOMAIN, person_id, kind, header)
    cipher = _stream_cipher(dek)
    sealed_size = chunk_size + TAG_BYTES

    total = 0
    counter = 0
    current = _read_full(src, sealed_size)
    if not current:
        raise SealBrokenError("The encrypted file has no chunks after its header; it was truncated.")
    while True:
        # A full-size chunk may or may not be the last; peek at the next to decide. A short chunk
        # can only be the last one, since the writer fills every chunk before the final one.
        following = _read_full(src, sealed_size) if len(current) == sealed_size else b""
        last = not following
        try:
            plaintext = cipher.decrypt(_chunk_nonce(prefix, counter, last), current, aad)
        except (InvalidTag, ValueError):
            raise SealBrokenError(
                f"Chunk {counter} of the encrypted file does not open: the file was truncated, "
                "reordered, extended or altered, or belongs to another person, kind or data key. "
                "Discard anything already written."
            ) from None
        dst.write(plaintext)
        total += len(plaintext)
        if last:
            return total
        counter += 1
        current = following


def blind_index(key: bytes, value: str, *, width: int) -> bytes:
    """Return HMAC-SHA-256(key, value as UTF-8) truncated to ``width`` bytes.

    The caller normalises ``value`` first (scripts, transliteration, spacing); this function hashes
    exactly what it is given. A truncated index collides on purpose, so a hit is a candidate to be
    confirmed, never proof that two records are the same person.
    """
    if not 1 <= width <= 32:
        raise ValueError("width must be between 1 and 32 bytes")
    if len(key) < 16:
        raise ValueError("a blind-index key must be at least 16 bytes")
    return hmac.digest(key, value.encode("utf-8"), "sha256")[:width]


class BlindIndexer:
    """``blind_index`` for one key, keyed once: each value costs one copy of the keyed state.

    HMAC keys a SHA-256 state with the key (two compression-function calls) before hashing the
    value; a person has dozens of index values under a handful of keys, so the keyed state is built
    once per key and copied per value. Same output as ``blind_index(key, value, width=width)``.
    Holds the key inside an opaque hash object; its ``repr`` shows neither key nor values.
    """

    __slots__ = ("_keyed", "_width")

    def __init__(self, key: bytes, *, width: int) -> None:
        if not 1 <= width <= 32:
            raise ValueError("width must be between 1 and 32 bytes")
        if len(key) < 16:
            raise ValueError("a blind-index key must be at least 16 bytes")
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)
        self._width = width

    def __repr__(self) -> str:
        return f"BlindIndexer(width={self._width})"

    def __call__(self, value: str) -> bytes:
        mac = self._keyed.copy()
        mac.update(value.encode("utf-8"))
        return mac.digest()[: self._width]
