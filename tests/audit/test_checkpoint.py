"""Tests of signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed-notes (Ed25519).

The known-answer key, text and signature come from the Go reference implementation's
tests (golang.org/x/mod/sumdb/note); Ed25519 is deterministic, so signing the same text
with the same key must give the same bytes.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from legionary.audit.checkpoint import (
    MAX_SIGNATURES,
    BadSignatureError,
    Checkpoint,
    CheckpointError,
    MalformedCheckpointError,
    MalformedKeyError,
    MalformedNoteError,
    SignerKey,
    UnknownKeyError,
    VerifierKey,
    format_checkpoint,
    generate_key,
    key_id,
    open_checkpoint,
    parse_checkpoint,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
    verify_note,
)
from legionary.audit.merkle import EMPTY_ROOT, leaf_hash

GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNATURE_LINE = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

ORIGIN = "legionary.example/audit"
ROOT = leaf_hash(b"some root")


@pytest.fixture(scope="module")
def signer() -> SignerKey:
    return generate_key(ORIGIN)


@pytest.fixture(scope="module")
def signed(signer: SignerKey) -> str:
    return signer.sign(format_checkpoint(ORIGIN, 1234, ROOT, ["extension: x"]))


# --------------------------------------------------------------------------- known answers


def test_signing_reproduces_the_go_reference_signature_byte_for_byte() -> None:
    signer = parse_signer_key(GO_SIGNER)
    assert str(signer.verifier) == GO_VERIFIER
    assert signer.to_private_string() == GO_SIGNER
    note = sign_note(GO_TEXT, "PeterNeumann", signer.private_key)
    assert note == GO_TEXT + "\n" + GO_SIGNATURE_LINE
    assert verify_note(note, GO_VERIFIER) == GO_TEXT


def test_key_id_is_the_first_four_bytes_of_sha256_of_name_newline_type_and_key() -> None:
    verifier = parse_verifier_key(GO_VERIFIER)
    assert key_id("PeterNeumann", verifier.public_bytes).hex() == "c74f20a3"
    assert verifier.key_id == bytes.fromhex("c74f20a3")


def test_checkpoint_body_is_origin_size_and_base64_root_each_ending_in_newline() -> None:
    text = format_checkpoint("example.com/log", 20852163, EMPTY_ROOT, ["ext one", "ext two"])
    assert text == ("example.com/log\n20852163\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\next two\n")
    assert parse_checkpoint(text) == Checkpoint("example.com/log", 20852163, EMPTY_ROOT, ("ext one", "ext two"))


# --------------------------------------------------------------------------- round trips


def test_signed_checkpoint_round_trips_through_text(signer: SignerKey, signed: str) -> None:
    checkpoint = open_checkpoint(signed, str(signer.verifier))
    assert checkpoint == Checkpoint(ORIGIN, 1234, ROOT, ("extension: x",))
    assert checkpoint.to_text() + "\n" == signed[: signed.rindex("\n\n") + 2]
    assert open_checkpoint(signed.encode("utf-8"), signer.verifier) == checkpoint


def test_keys_round_trip_through_their_text_forms(signer: SignerKey) -> None:
    again = parse_signer_key(signer.to_private_string())
    assert again.name == signer.name and again.key_id == signer.key_id
    assert str(again.verifier) == str(signer.verifier)
    assert parse_verifier_key(str(signer.verifier)) == signer.verifier
    # Keys read from files usually end with a newline.
    assert parse_verifier_key(str(signer.verifier) + "\n") == signer.verifier


def test_signer_key_repr_does_not_reveal_the_private_key(signer: SignerKey) -> None:
    # PRIVATE+KEY+<name>+<key id>+<base64 key>: the key is the fifth field whole (base64 itself may
    # hold "+", so splitting from the right would take only a random tail of it, even an empty one).
    secret = signer.to_private_string().split("+", 4)[4]
    assert len(secret) == 44
    assert secret not in repr(signer)
    assert "private_key" not in repr(signer)


def test_other_signatures_are_ignored_so_witnesses_can_cosign(signer: SignerKey, signed: str) -> None:
    witness = generate_key("witness.example/w1")
    cosigned = sign_note(verify_note(signed, signer.verifier), witness.name, witness.private_key)
    both = signed + cosigned[cosigned.rindex("\n\n") + 2 :]
    assert verify_note(both, signer.verifier) == verify_note(both, witness.verifier)


# --------------------------------------------------------------------------- tampering


def test_tampered_body_is_rejected_as_a_bad_signature(signer: SignerKey, signed: str) -> None:
    tampered = signed.replace("\n1234\n", "\n1235\n")
    with pytest.raises(BadSignatureError, match="altered"):
        verify_note(tampered, signer.verifier)


def test_tampered_signature_is_rejected_as_a_bad_signature(signer: SignerKey, signed: str) -> None:
    text, line = signed[: signed.rindex("\n\n") + 2], signed[signed.rindex("\n\n") + 2 :]
    prefix, b64 = line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(b64))
    raw[10] ^= 0x01
    forged = f"{text}{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(BadSignatureError):
        verify_note(forged, signer.verifier)


def test_note_signed_by_another_key_is_rejected_as_unknown_key(signed: str) -> None:
    stranger = generate_key(ORIGIN)  # same name, different key: a different key id
    with pytest.raises(UnknownKeyError, match=ORIGIN):
        verify_note(signed, stranger.verifier)
    with pytest.raises(UnknownKeyError):
        verify_note(signed, generate_key("other.example/log").verifier)


def test_a_key_that_collides_on_name_and_key_id_still_fails_on_the_signature(signer: SignerKey, signed: str) -> None:
    impostor = Ed25519PrivateKey.generate().public_key()
    forged = dataclasses.replace(VerifierKey.from_public_key(ORIGIN, impostor), key_id=signer.key_id)
    with pytest.raises(BadSignatureError):
        verify_note(signed, forged)


def test_one_bad_signature_from_the_trusted_key_rejects_the_whole_note(signer: SignerKey, signed: str) -> None:
    other = sign_note(verify_note(signed, signer.verifier) + "x\n", ORIGIN, signer.private_key)
    doubled = signed + other[other.rindex("\n\n") + 2 :]
    with pytest.raises(BadSignatureError):
        verify_note(doubled, signer.verifier)


def test_every_single_bit_flip_of_a_signed_checkpoint_is_rejected(signer: SignerKey, signed: str) -> None:
    data = signed.encode("utf-8")
    for bit in range(len(data) * 8):
        changed = bytearray(data)
        changed[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(CheckpointError):
            verify_note(bytes(changed), signer.verifier)


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "end with a newline"),
        ("origin\n1\n" + base64.b64encode(ROOT).decode(), "end with a newline"),
        ("origin\n1\n", "origin, size and root"),
        ("\n1\n" + base64.b64encode(ROOT).decode() + "\n", "non-empty"),
        ("o\n1\n" + base64.b64encode(ROOT).decode() + "\n\n", "non-empty"),
        ("o\n01\n" + base64.b64encode(ROOT).decode() + "\n", "leading zeroes"),
        ("o\n+1\n" + base64.b64encode(ROOT).decode() + "\n", "decimal"),
        ("o\n 1\n" + base64.b64encode(ROOT).decode() + "\n", "decimal"),
        ("o\n\u0663\n" + base64.b64encode(ROOT).decode() + "\n", "decimal"),
        ("o\n18446744073709551616\n" + base64.b64encode(ROOT).decode() + "\n", "64 bits"),
        ("o\n1\n" + base64.b64encode(ROOT[:31]).decode() + "\n", "32 bytes"),
        ("o\n1\n" + base64.b64encode(ROOT).decode().rstrip("=") + "\n", "base64"),
        ("o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n", "canonical"),
        ("o\r\n1\n" + base64.b64encode(ROOT).decode() + "\n", "control character"),
        (b"o\n1\n\xff\n", "UTF-8"),
    ],
    ids=[
        "empty",
        "no-final-newline",
        "two-lines",
        "empty-origin",
        "empty-extension",
        "leading-zero",
        "plus-sign",
        "space",
        "arabic-digit",
        "size-over-64-bits",
        "short-root",
        "unpadded-root",
        "non-canonical-root",
        "carriage-return",
        "invalid-utf8",
    ],
)
def test_malformed_checkpoints_are_rejected_with_a_clear_reason(text: Any, message: str) -> None:
    with pytest.raises(MalformedCheckpointError, match=message):
        parse_checkpoint(text)


def test_format_checkpoint_refuses_what_parse_checkpoint_would_reject() -> None:
    for origin in ("", "two\nlines", "tab\there"):
        with pytest.raises(MalformedCheckpointError):
            format_checkpoint(origin, 1, ROOT)
    with pytest.raises(MalformedCheckpointError):
        format_checkpoint("o", -1, ROOT)
    with pytest.raises(MalformedCheckpointError):
        format_checkpoint("o", 1, ROOT[:31])
    with pytest.raises(MalformedCheckpointError):
        format_checkpoint("o", 1, ROOT, [""])


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("text\n", "blank line"),
        ("text\n\n", "does not start"),
        ("text\n\n— name\n", "is not"),
        ("text\n\n— name  AAAAAAA=\n", "is not"),
        ("text\n\n- name AAAAAAA=\n", "does not start"),
        ("text\n\n— name AAAAAAA=", "end with a newline"),
        ("text\n\n— name AAAA\n", "too short"),
        ("text\n\n— name AAAAAAA\n", "base64"),
        ("text\n\n— na+me AAAAAAA=\n", "space or"),
        ("text\n\n— name\u00a0x AAAAAAA=\n", "is not|space"),
        ("te\x00xt\n\n— name AAAAAAA=\n", "control character"),
        ("text\n\n" + "— name AAAAAAA=\n" * (MAX_SIGNATURES + 1), "more than"),
    ],
    ids=[
        "no-signatures",
        "blank-signature-line",
        "no-signature",
        "double-space",
        "hyphen-not-em-dash",
        "no-final-newline",
        "signature-too-short",
        "unpadded-base64",
        "plus-in-name",
        "nbsp-in-name",
        "nul",
        "too-many-signatures",
    ],
)
def test_malformed_notes_are_rejected_with_a_clear_reason(note: str, message: str, signer: SignerKey) -> None:
    with pytest.raises(MalformedNoteError, match=message):
        verify_note(note, signer.verifier)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "name+c74f20a3",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    ],
    ids=[
        "empty",
        "two-fields",
        "wrong-key-id",
        "uppercase-hex",
        "wrong-type-byte",
        "short-key",
        "space-in-name",
        "private-key-as-verifier",
    ],
)
def test_malformed_verifier_keys_are_rejected(key: str) -> None:
    with pytest.raises(MalformedKeyError):
        parse_verifier_key(key)


def test_malformed_private_keys_are_rejected() -> None:
    for key in ("", GO_VERIFIER, GO_SIGNER.replace("c74f20a3", "00000000"), "PRIVATE+KEY+x+y+z"):
        with pytest.raises(MalformedKeyError):
            parse_signer_key(key)


def test_sign_note_refuses_text_it_could_not_verify_later(signer: SignerKey) -> None:
    with pytest.raises(MalformedNoteError, match="newline"):
        sign_note("no newline", ORIGIN, signer.private_key)
    with pytest.raises(MalformedNoteError, match="control"):
        sign_note("bell\x07\n", ORIGIN, signer.private_key)
    with pytest.raises(MalformedKeyError):
        sign_note("text\n", "bad name", signer.private_key)


# --------------------------------------------------------------------------- fuzzing

_line = st.text(st.characters(codec="utf-8"), max_size=30)
_checkpointish = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.one_of(
            _line, st.integers(0, 2**65).map(str), st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode())
        ),
        max_size=6,
    ).map(lambda lines: "".join(line + "\n" for line in lines)),
)


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(_checkpointish, st.binary(max_size=200)))
def test_parse_checkpoint_raises_only_malformed_checkpoint_and_round_trips_what_it_accepts(
    text: str | bytes,
) -> None:
    try:
        checkpoint = parse_checkpoint(text)
    except MalformedCheckpointError:
        return
    original = text.decode("utf-8") if isinstance(text, bytes) else text
    assert checkpoint.to_text() == original


@settings(max_examples=300, deadline=None)
@given(note=st.one_of(st.text(max_size=300), st.binary(max_size=300)), data=st.data())
def test_verify_note_raises_only_checkpoint_errors_and_never_returns_unsigned_text(
    note: str | bytes, data: st.DataObject, signer: SignerKey, signed: str
) -> None:
    # Also splice the arbitrary text into a real signed note, to reach deeper paths.
    if isinstance(note, str) and data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(signed)))
        note = signed[:cut] + note + signed[cut:]
    try:
        text = verify_note(note, signer.verifier)
    except CheckpointError:
        return
    # Whatever was spliced in, the only text that can verify is the text that was signed.
    assert text == signed[: signed.rindex("\n\n") + 1]


@settings(max_examples=300, deadline=None)
@given(key=st.one_of(st.text(max_size=120), st.text("+PRIVATEKY0123456789abcdef=/", max_size=90)))
def test_key_parsers_raise_only_malformed_key_errors(key: str) -> None:
    for parser in (parse_verifier_key, parse_signer_key):
        try:
            parser(key)
        except MalformedKeyError:
            pass
