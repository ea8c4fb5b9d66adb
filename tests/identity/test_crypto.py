"""Sealing, streaming and blind indexes: round trips, and every way a blob must refuse to open."""

from __future__ import annotations

import hashlib
import hmac
import io
import tracemalloc
from pathlib import Path
from typing import BinaryIO, TypedDict, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legionary.identity.crypto import (
    DEK_BYTES,
    BlindIndexer,
    SealBrokenError,
    blind_index,
    canonical_aad,
    decrypt_stream,
    encrypt_stream,
    new_dek,
    open_sealed,
    seal,
)

DEK = bytes(range(32))
OTHER_DEK = bytes(range(1, 33))


class SealContext(TypedDict):
    person_id: str
    kind: str
    key_version: int


class StreamContext(TypedDict):
    person_id: str
    kind: str


CONTEXT: SealContext = {"person_id": "p-7f3a", "kind": "identity", "key_version": 1}
STREAM_CONTEXT: StreamContext = {"person_id": "p-7f3a", "kind": "scan"}

non_empty_text = st.text(min_size=1, max_size=40)


def encrypt_bytes(data: bytes, chunk_size: int, dek: bytes = DEK, context: StreamContext = STREAM_CONTEXT) -> bytes:
    out = io.BytesIO()
    encrypt_stream(dek, io.BytesIO(data), out, chunk_size=chunk_size, **context)
    return out.getvalue()


def decrypt_bytes(blob: bytes, dek: bytes = DEK, context: StreamContext = STREAM_CONTEXT) -> bytes:
    out = io.BytesIO()
    decrypt_stream(dek, io.BytesIO(blob), out, **context)
    return out.getvalue()


def split_stream(blob: bytes, chunk_size: int) -> tuple[bytes, list[bytes]]:
    """Split an encrypted stream into its 12-byte header and its sealed chunks."""
    sealed = chunk_size + 16
    body = blob[12:]
    return blob[:12], [body[i : i + sealed] for i in range(0, len(body), sealed)]


# --- seal / open ----------------------------------------------------------------------------------


class TestSeal:
    @given(
        plaintext=st.binary(max_size=4096), person_id=non_empty_text, kind=non_empty_text, version=st.integers(0, 2**32)
    )
    def test_it_opens_what_it_sealed_for_any_bytes_person_and_kind(
        self, plaintext: bytes, person_id: str, kind: str, version: int
    ) -> None:
        blob = seal(DEK, plaintext, person_id=person_id, kind=kind, key_version=version)
        assert open_sealed(DEK, blob, person_id=person_id, kind=kind, key_version=version) == plaintext

    def test_it_never_leaves_the_plaintext_visible_in_the_blob(self) -> None:
        plaintext = b'{"surname": "Petrov", "passport": "75 1234567"}'
        blob = seal(DEK, plaintext, **CONTEXT)
        assert b"Petrov" not in blob
        assert b"1234567" not in blob

    def test_it_gives_a_different_blob_each_time_for_the_same_value(self) -> None:
        first = seal(DEK, b"same", **CONTEXT)
        second = seal(DEK, b"same", **CONTEXT)
        assert first != second

    def test_it_refuses_to_open_with_another_data_key(self) -> None:
        blob = seal(DEK, b"value", **CONTEXT)
        with pytest.raises(SealBrokenError):
            open_sealed(OTHER_DEK, blob, **CONTEXT)

    @pytest.mark.parametrize(
        "changed",
        [
            {"person_id": "p-other"},
            {"kind": "next_of_kin"},
            {"key_version": 2},
        ],
        ids=["another_person", "another_kind", "another_key_version"],
    )
    def test_it_refuses_a_blob_moved_to_another_context(self, changed: dict[str, object]) -> None:
        blob = seal(DEK, b"value", **CONTEXT)
        moved = cast(SealContext, {**CONTEXT, **changed})
        with pytest.raises(SealBrokenError):
            open_sealed(DEK, blob, **moved)

    def test_it_does_not_confuse_person_and_kind_boundaries(self) -> None:
        blob = seal(DEK, b"value", person_id="ab", kind="c", key_version=1)
        with pytest.raises(SealBrokenError):
            open_sealed(DEK, blob, person_id="a", kind="bc", key_version=1)

    @given(data=st.data())
    def test_it_refuses_a_blob_with_any_single_bit_flipped(self, data: st.DataObject) -> None:
        blob = seal(DEK, b"Ivan Ivanovich, born 1990", **CONTEXT)
        bit = data.draw(st.integers(0, len(blob) * 8 - 1))
        altered = bytearray(blob)
        altered[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(SealBrokenError):
            open_sealed(DEK, bytes(altered), **CONTEXT)

    @given(data=st.data())
    def test_it_refuses_a_truncated_blob(self, data: st.DataObject) -> None:
        blob = seal(DEK, b"some identity", **CONTEXT)
        cut = data.draw(st.integers(0, len(blob) - 1))
        with pytest.raises(SealBrokenError):
            open_sealed(DEK, blob[:cut], **CONTEXT)

    def test_it_refuses_a_blob_with_extra_bytes_appended(self) -> None:
        blob = seal(DEK, b"value", **CONTEXT)
        with pytest.raises(SealBrokenError):
            open_sealed(DEK, blob + b"\x00", **CONTEXT)

    def test_its_error_names_neither_plaintext_nor_key(self) -> None:
        blob = seal(DEK, b"Secret Surname", **CONTEXT)
        with pytest.raises(SealBrokenError) as caught:
            open_sealed(OTHER_DEK, blob, **CONTEXT)
        message = str(caught.value)
        assert "Secret" not in message
        assert DEK.hex() not in message and OTHER_DEK.hex() not in message
        assert caught.value.__cause__ is None and caught.value.__suppress_context__

    def test_it_refuses_a_key_of_the_wrong_length(self) -> None:
        with pytest.raises(ValueError, match="32 bytes"):
            seal(b"short", b"value", **CONTEXT)

    def test_it_refuses_an_empty_person_id(self) -> None:
        with pytest.raises(ValueError, match="person_id"):
            seal(DEK, b"value", person_id="", kind="identity", key_version=1)

    def test_new_dek_gives_fresh_256_bit_keys(self) -> None:
        keys = {new_dek() for _ in range(10)}
        assert len(keys) == 10
        assert all(len(k) == DEK_BYTES for k in keys)


class TestCanonicalAad:
    def test_it_distinguishes_strings_from_bytes_and_integers(self) -> None:
        encodings = {canonical_aad("1"), canonical_aad(b"1"), canonical_aad(1)}
        assert len(encodings) == 3

    def test_it_refuses_booleans_so_true_cannot_mean_version_one(self) -> None:
        with pytest.raises(TypeError):
            canonical_aad(True)


# --- streams --------------------------------------------------------------------------------------


class TestStream:
    @settings(max_examples=150)
    @given(
        chunk_size=st.integers(1, 64),
        data=st.data(),
    )
    def test_it_round_trips_any_size_including_empty_and_chunk_boundaries(
        self, chunk_size: int, data: st.DataObject
    ) -> None:
        # Bias towards the edges: empty, exactly one chunk, exact multiples and one either side.
        boundary = st.sampled_from(
            [0, 1, chunk_size - 1, chunk_size, chunk_size + 1, 2 * chunk_size, 3 * chunk_size - 1]
        )
        size = data.draw(st.one_of(boundary, st.integers(0, 5 * chunk_size)).filter(lambda n: n >= 0))
        plaintext = data.draw(st.binary(min_size=size, max_size=size))
        assert decrypt_bytes(encrypt_bytes(plaintext, chunk_size)) == plaintext

    def test_it_round_trips_with_the_default_chunk_size(self) -> None:
        plaintext = bytes(range(256)) * 1000  # 256 000 bytes: several 64 KiB chunks and a short one
        out = io.BytesIO()
        written = encrypt_stream(DEK, io.BytesIO(plaintext), out, **STREAM_CONTEXT)
        assert written == len(plaintext)
        assert decrypt_bytes(out.getvalue()) == plaintext

    def test_an_empty_file_still_has_an_authenticated_final_chunk(self) -> None:
        blob = encrypt_bytes(b"", 16)
        assert len(blob) == 12 + 16
        with pytest.raises(SealBrokenError):
            decrypt_bytes(blob[:12])

    @pytest.mark.parametrize("keep", [0, 1, 2], ids=["header_only", "one_chunk", "two_chunks"])
    def test_it_detects_truncation_at_a_chunk_boundary(self, keep: int) -> None:
        blob = encrypt_bytes(b"x" * 50, 16)  # chunks of 16, 16, 16, 2
        header, chunks = split_stream(blob, 16)
        with pytest.raises(SealBrokenError):
            decrypt_bytes(header + b"".join(chunks[:keep]))

    def test_it_detects_truncation_of_an_exact_multiple_of_the_chunk_size(self) -> None:
        blob = encrypt_bytes(b"y" * 48, 16)  # exactly three full chunks, the last flagged final
        header, chunks = split_stream(blob, 16)
        assert len(chunks) == 3
        with pytest.raises(SealBrokenError):
            decrypt_bytes(header + chunks[0] + chunks[1])

    def test_it_detects_truncation_inside_a_chunk(self) -> None:
        blob = encrypt_bytes(b"z" * 50, 16)
        with pytest.raises(SealBrokenError):
            decrypt_bytes(blob[:-1])

    def test_it_detects_reordered_chunks(self) -> None:
        blob = encrypt_bytes(b"a" * 16 + b"b" * 16 + b"c" * 5, 16)
        header, chunks = split_stream(blob, 16)
        with pytest.raises(SealBrokenError):
            decrypt_bytes(header + chunks[1] + chunks[0] + chunks[2])

    def test_it_detects_a_duplicated_chunk(self) -> None:
        blob = encrypt_bytes(b"a" * 40, 16)
        header, chunks = split_stream(blob, 16)
        with pytest.raises(SealBrokenError):
            decrypt_bytes(header + chunks[0] + chunks[0] + chunks[1] + chunks[2])

    def test_it_detects_data_appended_after_the_final_chunk(self) -> None:
        blob = encrypt_bytes(b"a" * 32, 16)
        _, chunks = split_stream(blob, 16)
        with pytest.raises(SealBrokenError):
            decrypt_bytes(blob + chunks[-1])
        with pytest.raises(SealBrokenError):
            decrypt_bytes(blob + b"\x00")

    def test_it_detects_a_chunk_spliced_in_from_another_file(self) -> None:
        first = split_stream(encrypt_bytes(b"a" * 32, 16), 16)
        second = split_stream(encrypt_bytes(b"b" * 32, 16), 16)
        with pytest.raises(SealBrokenError):
            decrypt_bytes(first[0] + first[1][0] + second[1][1])

    def test_it_detects_a_forged_chunk_size_in_the_header(self) -> None:
        blob = bytearray(encrypt_bytes(b"a" * 40, 16))
        blob[4] = 32  # chunk size field is bytes 1..4, big-endian
        with pytest.raises(SealBrokenError):
            decrypt_bytes(bytes(blob))

    @given(data=st.data())
    @settings(max_examples=60)
    def test_it_detects_any_single_bit_flipped(self, data: st.DataObject) -> None:
        blob = encrypt_bytes(b"scan of a passport page" * 3, 16)
        bit = data.draw(st.integers(0, len(blob) * 8 - 1))
        altered = bytearray(blob)
        altered[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(SealBrokenError):
            decrypt_bytes(bytes(altered))

    @pytest.mark.parametrize(
        ("dek", "context"),
        [
            (OTHER_DEK, STREAM_CONTEXT),
            (DEK, {"person_id": "p-other", "kind": "scan"}),
            (DEK, {"person_id": "p-7f3a", "kind": "photo"}),
        ],
        ids=["another_key", "another_person", "another_kind"],
    )
    def test_it_refuses_another_key_person_or_kind(self, dek: bytes, context: StreamContext) -> None:
        blob = encrypt_bytes(b"a" * 40, 16)
        with pytest.raises(SealBrokenError):
            decrypt_bytes(blob, dek, context)

    def test_it_writes_no_plaintext_from_a_chunk_that_fails(self) -> None:
        blob = bytearray(encrypt_bytes(b"A" * 16 + b"B" * 16 + b"C" * 16, 16))
        blob[12 + 32 + 5] ^= 1  # damage the second chunk
        out = io.BytesIO()
        with pytest.raises(SealBrokenError):
            decrypt_stream(DEK, io.BytesIO(bytes(blob)), out, **STREAM_CONTEXT)
        assert out.getvalue() == b"A" * 16

    def test_it_reads_correctly_from_a_source_that_returns_short_reads(self) -> None:
        class Trickle(io.RawIOBase):
            def __init__(self, data: bytes) -> None:
                self._data = io.BytesIO(data)

            def readable(self) -> bool:
                return True

            def read(self, size: int = -1) -> bytes:
                return self._data.read(min(size, 3) if size >= 0 else 3)

        plaintext = bytes(range(200))
        out = io.BytesIO()
        encrypt_stream(DEK, cast(BinaryIO, Trickle(plaintext)), out, chunk_size=32, **STREAM_CONTEXT)
        back = io.BytesIO()
        decrypt_stream(DEK, cast(BinaryIO, Trickle(out.getvalue())), back, **STREAM_CONTEXT)
        assert back.getvalue() == plaintext

    def test_a_20_mb_file_never_sits_whole_in_memory(self, tmp_path: Path) -> None:
        size = 20 * 1024 * 1024

        class Generated(io.RawIOBase):
            """Yields ``size`` pseudo-random bytes without ever holding them all."""

            def __init__(self) -> None:
                self._left = size
                self._counter = 0

            def readable(self) -> bool:
                return True

            def read(self, n: int = -1) -> bytes:
                n = min(self._left if n < 0 else n, self._left, 8192)
                self._left -= n
                self._counter += 1
                block = hashlib.sha256(self._counter.to_bytes(8, "big")).digest() * 256
                return block[:n]

        class HashingSink(io.RawIOBase):
            def __init__(self) -> None:
                self.digest = hashlib.sha256()

            def writable(self) -> bool:
                return True

            def write(self, b: bytes) -> int:  # type: ignore[override]
                self.digest.update(b)
                return len(b)

        expected = hashlib.sha256()
        source = Generated()
        while block := source.read(8192):
            expected.update(block)

        encrypted = tmp_path / "scan.enc"
        tracemalloc.start()
        try:
            with encrypted.open("wb") as dst:
                encrypt_stream(DEK, cast(BinaryIO, Generated()), dst, **STREAM_CONTEXT)
            sink = HashingSink()
            with encrypted.open("rb") as src:
                decrypt_stream(DEK, src, cast(BinaryIO, sink), **STREAM_CONTEXT)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert sink.digest.digest() == expected.digest()
        assert peak < 2 * 1024 * 1024, f"peak traced memory was {peak} bytes"


# --- blind indexes --------------------------------------------------------------------------------


class TestBlindIndex:
    def test_it_is_truncated_hmac_sha256_of_the_utf8_value(self) -> None:
        key = b"k" * 32
        expected = hmac.new(key, "Иванов".encode(), hashlib.sha256).digest()[:8]
        assert blind_index(key, "Иванов", width=8) == expected

    def test_it_is_deterministic_for_the_same_key_and_value(self) -> None:
        assert blind_index(DEK, "ivanov", width=4) == blind_index(DEK, "ivanov", width=4)

    def test_it_differs_between_keys(self) -> None:
        assert blind_index(DEK, "ivanov", width=16) != blind_index(OTHER_DEK, "ivanov", width=16)

    @pytest.mark.parametrize("width", [0, 33])
    def test_it_refuses_a_width_outside_one_to_thirty_two_bytes(self, width: int) -> None:
        with pytest.raises(ValueError, match="width"):
            blind_index(DEK, "ivanov", width=width)

    def test_it_refuses_a_short_key(self) -> None:
        with pytest.raises(ValueError, match="16 bytes"):
            blind_index(b"short", "ivanov", width=8)


class TestBlindIndexer:
    """The keyed-once form used on the write path must give exactly ``blind_index``'s output."""

    @pytest.mark.parametrize("width", [1, 4, 8, 32])
    def test_it_equals_blind_index_for_every_value_and_width(self, width: int) -> None:
        indexer = BlindIndexer(DEK, width=width)
        for value in ["ivanov", "Иванов", "", "1990-04-12\x1fkzntsv", "x" * 500]:
            assert indexer(value) == blind_index(DEK, value, width=width)

    def test_values_hashed_one_after_another_do_not_leak_into_each_other(self) -> None:
        indexer = BlindIndexer(DEK, width=32)
        first = indexer("ivanov")
        indexer("petrov")
        assert indexer("ivanov") == first

    def test_it_refuses_what_blind_index_refuses_and_shows_no_key(self) -> None:
        with pytest.raises(ValueError, match="16 bytes"):
            BlindIndexer(b"short", width=8)
        with pytest.raises(ValueError, match="width"):
            BlindIndexer(DEK, width=0)
        assert DEK.hex() not in repr(BlindIndexer(DEK, width=4))
