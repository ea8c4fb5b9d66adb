"""Receipt passphrases: drawing one, reading one back as typed, and its stored forms.

A receipt is 7 words drawn with ``secrets`` from a 2048-word list (77 bits). It is shown to the
applicant once and stored only as:

* ``lookup_key``: the first 8 bytes of HMAC-SHA256 under a key derived from the server secret,
  so the row is found with one indexed query (the key keeps an offline list of lookups useless);
* ``digest``: Argon2id with explicit parameters, so a stolen database does not give the receipts.

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

# OWASP's Argon2id minimum (19 MiB, 2 passes, 1 lane): the receipt already carries 77 bits, so
# the slow hash is a second line; heavier settings would cost every submission far more.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)

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
    return HASHER.hash(receipt)


@cache
def _decoy() -> str:
    return HASHER.hash(secrets.token_hex(16))


def matches(stored_digest: str, receipt: str) -> bool:
    try:
        return HASHER.verify(stored_digest, receipt)
    except (VerificationError, InvalidHashError):
        return False


def spend_decoy_time(receipt: str) -> None:
    """Costs what a real check costs, so a wrong receipt is not told apart by timing."""
    matches(_decoy(), receipt)
