"""Receipt passphrases: their strength, and that the slow hash's parameters travel with each hash."""

from __future__ import annotations

import math

from argon2 import PasswordHasher, Type, extract_parameters

from legionary.intake import receipts


def test_a_receipt_carries_at_least_seventy_bits() -> None:
    # docs/security.md ("Receipt hashing parameters") rests the Argon2id choice on this figure.
    bits = receipts.RECEIPT_WORDS * math.log2(len(set(receipts.word_list())))
    assert bits >= 70
    drawn = receipts.new_receipt().split()
    assert len(drawn) == receipts.RECEIPT_WORDS and set(drawn) <= set(receipts.word_list())


def test_the_stored_hash_is_argon2id_with_at_least_the_owasp_minimum() -> None:
    stored = receipts.digest(receipts.new_receipt())
    parameters = extract_parameters(stored)
    assert parameters.type is Type.ID
    assert parameters.memory_cost >= 19 * 1024 and parameters.time_cost >= 2 and parameters.parallelism >= 1
    assert parameters.salt_len >= 16 and parameters.hash_len >= 32


def test_a_hash_made_with_other_parameters_still_verifies() -> None:
    """Each encoded hash names its own parameters, so changing HASHER never strands a stored receipt."""
    receipt = receipts.new_receipt()
    for older in (
        PasswordHasher(time_cost=3, memory_cost=8 * 1024, parallelism=2, type=Type.ID),
        PasswordHasher(time_cost=1, memory_cost=4 * 1024, parallelism=1, hash_len=16, salt_len=8, type=Type.ID),
    ):
        stored = older.hash(receipt)
        assert receipts.matches(stored, receipt)
        assert not receipts.matches(stored, receipts.new_receipt())
