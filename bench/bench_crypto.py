"""Benchmark of the sealing core: prints µs per operation and ratios, never asserts timings.

Measures wrapping a data key with AES-256-GCM (what ``FileKeyProvider`` does) against RFC 3394 AES
key wrap, sealing and opening a ~1 KB identity, a blind index, and stream encryption throughput.
Runs in well under a minute: ``python bench/bench_crypto.py``.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, cast

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

from legionary.identity.crypto import blind_index, decrypt_stream, encrypt_stream, new_dek, open_sealed, seal
from legionary.identity.keyring import FileKeyProvider, create_keyring


def per_op_us(func: Callable[[], object], number: int, repeat: int = 5) -> float:
    """Best of ``repeat`` runs, in µs per call: the minimum is the least disturbed by other load."""
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number * 1e6


def synthetic_identity() -> bytes:
    # Obviously synthetic data, shaped like a sealed identity record.
    identity = {
        "names": [
            {"script": "Cyrl", "surname": "Тестов", "given": "Тест", "patronymic": "Тестович"},
            {"script": "Latn", "surname": "Testov", "given": "Test", "patronymic": "Testovich"},
        ],
        "birth_date": "1990-01-01",
        "birth_place": "Example City",
        "documents": [{"type": "passport", "number": "00 0000000", "issued": "2010-01-01", "country": "XX"}],
        "contacts": {"phone": "+000 00 000 00 00", "email": "test@example.invalid"},
        "address": "1 Example Street, Example City, 000000",
        "next_of_kin": [{"relation": "mother", "name": "Тестова Тест", "phone": "+000 00 000 00 01"}],
        "notes": "x" * 300,
    }
    return json.dumps(identity, ensure_ascii=False).encode("utf-8")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "keyring"
        keyring = create_keyring(path, None)  # no passphrase: the KDF is not what is measured here
    keys = FileKeyProvider(keyring)

    dek = new_dek()
    kek = os.urandom(32)
    aad = b"person:p-bench"
    n = 20_000

    def gcm_raw() -> None:
        nonce = os.urandom(12)
        aead = AESGCM(kek)
        aead.decrypt(nonce, aead.encrypt(nonce, dek, aad), aad)

    def gcm_provider() -> None:
        version, wrapped = keys.wrap_dek(dek, aad)
        keys.unwrap_dek(version, wrapped, aad)

    def key_wrap() -> None:
        aes_key_unwrap(kek, aes_key_wrap(kek, dek))

    raw_us = per_op_us(gcm_raw, n)
    provider_us = per_op_us(gcm_provider, n)
    kw_us = per_op_us(key_wrap, n)
    print("Wrap + unwrap of one 32-byte data key")
    print(f"  AES-256-GCM, bare cryptography calls      {raw_us:8.2f} µs/op")
    print(f"  AES-256-GCM, FileKeyProvider (with AAD)   {provider_us:8.2f} µs/op")
    print(f"  AES key wrap (RFC 3394)                   {kw_us:8.2f} µs/op")
    print(f"  key wrap / GCM: {kw_us / raw_us:.1f}x bare, {kw_us / provider_us:.1f}x via the provider")

    identity = synthetic_identity()
    context = {"person_id": "p-bench", "kind": "identity"}
    blob = seal(dek, identity, key_version=1, **context)
    seal_us = per_op_us(lambda: seal(dek, identity, key_version=1, **context), n)
    open_us = per_op_us(lambda: open_sealed(dek, blob, key_version=1, **context), n)
    print(f"\nSeal / open of a {len(identity)}-byte identity JSON")
    print(
        f"  seal {seal_us:8.2f} µs/op   open {open_us:8.2f} µs/op   ({(seal_us + open_us) / provider_us:.1f}x a wrap)"
    )

    index_key = keys.index_key("surname")[1]
    bi_us = per_op_us(lambda: blind_index(index_key, "testov", width=4), n * 5)
    derive_us = per_op_us(lambda: FileKeyProvider(keyring).index_key("surname"), n // 4)  # uncached derivation
    print("\nBlind index")
    print(f"  HMAC-SHA-256 truncated to 4 bytes         {bi_us:8.2f} µs/op")
    print(f"  HKDF derivation of one index key          {derive_us:8.2f} µs/op (cached after the first use)")
    print(f"  six indexes per person: {6 * bi_us:.1f} µs, {6 * bi_us / seal_us:.1f}x one seal")

    class Discard(io.RawIOBase):
        """A sink that keeps nothing, so only the cryptography is timed."""

        def writable(self) -> bool:
            return True

        def write(self, b: bytes) -> int:  # type: ignore[override]
            return len(b)

    size = 20 * 1024 * 1024
    plaintext = os.urandom(size)
    encrypted = io.BytesIO()
    encrypt_stream(dek, io.BytesIO(plaintext), encrypted, person_id="p-bench", kind="scan")
    ciphertext = encrypted.getvalue()

    def encrypt() -> None:
        sink = cast(BinaryIO, Discard())
        encrypt_stream(dek, io.BytesIO(plaintext), sink, person_id="p-bench", kind="scan")

    def decrypt() -> None:
        sink = cast(BinaryIO, Discard())
        decrypt_stream(dek, io.BytesIO(ciphertext), sink, person_id="p-bench", kind="scan")

    enc_s = min(timeit.repeat(encrypt, number=1, repeat=5))
    dec_s = min(timeit.repeat(decrypt, number=1, repeat=5))
    mb = size / 1e6
    print("\nStream encryption of a 20 MB scan, 64 KiB chunks, from memory to a discarding sink")
    print(f"  encrypt {mb / enc_s:8.0f} MB/s   decrypt {mb / dec_s:8.0f} MB/s")
    print(f"  decrypt / encrypt time: {dec_s / enc_s:.2f}")


if __name__ == "__main__":
    main()
