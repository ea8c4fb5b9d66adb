"""Receipt passphrases: drawing one, reading one back as typed, and its stored forms.

A receipt is 7 words drawn with ``secrets`` from a 2048-word list (77 bits). It is shown to the
applicant once and stored only as:

* ``lookup_key``: the first 8 bytes of HMAC-SHA256 under a key derived from the server secret,
  so the row is found with one indexed query (the key keeps an offline list of lookups useless);
* ``digest``: HMAC-SHA256 under a key kept in the keyring (derived there for the name
  ``intake.receipt``, like a blind-index key), written ``hmac-sha256$VERSION$HEX``: a stolen
  database without the keyring gives nothing to test a guess against, and 77 random bits cannot
  be searched anyway, so a slow hash bought nothing but 24 ms of CPU per submission
  (docs/security.md, "Receipts").

Digests stored before (Argon2id, ``$argon2id$...``) still verify; ``needs_upgrade`` says when a
receipt just checked should be stored again in the new form.

Never log a receipt or put it in an exception message.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from django.conf import settings

RECEIPT_WORDS = 7
# Longer input than any real receipt is refused before hashing (Argon2 cost is per byte too).
MAX_RECEIPT_CHARS = 200

# How receipts were stored until the keyed HMAC: OWASP's Argon2id minimum (19 MiB, 2 passes, 1
# lane). Kept to verify those digests, and as the figure bench/load.py measures beside the HMAC.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
# The keyring derives one key per name; this one is the receipt digests'.
KEY_NAME = "intake.receipt"
_HMAC_PREFIX = "hmac-sha256$"

_SEPARATORS = re.compile(r"[\s\-_.,;:/]+")


@cache
def word_list() -> tuple[str, ...]:
    path = Path(__file__).resolve().parent / "data" / "receipt-words.txt"
    words = tuple(line.strip() for line in path.read_text(encoding="ascii").splitlines() if line.strip())
    if len(words) < 2048 or len(set(words)) != len(words):
        raise RuntimeError("The receipt word list is damaged: it needs at least 2048 distinct words.")
    return words


@cache
def _by_prefix() -> dict[str, str]:
    # Every word of the list is unique in its first four letters, so four letters are enough to type.
    return {word[:4]: word for word in word_list()}


def new_receipt() -> str:
    words = word_list()
    return " ".join(secrets.choice(words) for _ in range(RECEIPT_WORDS))


def normalise(typed: str) -> str | None:
    """The receipt as stored, from what a person typed (any case, any separators, four-letter
    prefixes), or None if it cannot be a receipt."""
    if len(typed) > MAX_RECEIPT_CHARS:
        return None
    parts = [p for p in _SEPARATORS.split(typed.strip().lower()) if p]
    if len(parts) != RECEIPT_WORDS:
        return None
    by_prefix = _by_prefix()
    words = []
    for part in parts:
        word = by_prefix.get(part[:4])
        if word is None or not word.startswith(part):
            return None
        words.append(word)
    return " ".join(words)


@cache
def _lookup_secret() -> bytes:
    # Derived, so the Django secret itself is never used directly as this key.
    return hmac.new(settings.SECRET_KEY.encode("utf-8"), b"legionary.intake.receipt-lookup.v1", hashlib.sha256).digest()


def lookup_key(receipt: str) -> str:
    return hmac.new(_lookup_secret(), receipt.encode("ascii"), hashlib.sha256).hexdigest()[:16]


def digest(receipt: str) -> str:
    """``hmac-sha256$VERSION$HEX``: HMAC-SHA256 of the receipt under the keyring's current receipt key."""
    from legionary.identity.services import key_provider

    version, key = key_provider().index_key(KEY_NAME)
    return f"{_HMAC_PREFIX}{version}${hmac.new(key, receipt.encode('ascii'), hashlib.sha256).hexdigest()}"


def needs_upgrade(stored_digest: str) -> bool:
    """True for a digest in the old form (Argon2id), to be replaced once its receipt is checked."""
    return not stored_digest.startswith(_HMAC_PREFIX)


def matches(stored_digest: str, receipt: str) -> bool:
    if stored_digest.startswith(_HMAC_PREFIX):
        return _hmac_matches(stored_digest, receipt)
    try:
        return HASHER.verify(stored_digest, receipt)
    except (VerificationError, InvalidHashError):
        return False


def _hmac_matches(stored_digest: str, receipt: str) -> bool:
    from legionary.identity.keyring import KeyringError
    from legionary.identity.services import key_provider

    version_text, _, expected = stored_digest.removeprefix(_HMAC_PREFIX).partition("$")
    if not version_text.isdigit() or len(expected) != 64:
        return False
    try:
        _, key = key_provider().index_key(KEY_NAME, int(version_text))
    except KeyringError:
        return False  # a key version this keyring does not hold opens nothing
    computed = hmac.new(key, receipt.encode("ascii", errors="replace"), hashlib.sha256).hexdigest()
    return hmac.compare_digest(computed, expected)


def spend_decoy_time(receipt: str) -> None:
    """Costs what a check of a current digest costs, so a wrong receipt is not told apart by timing.

    (A row in the old form costs an Argon2id check, but only a right receipt finds such a row.)"""
    digest(receipt)
