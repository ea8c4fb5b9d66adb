"""Receipt passphrases: their strength, their keyed digest, and receipts stored as Argon2id before."""

from __future__ import annotations

import math

import pytest
from argon2 import PasswordHasher, Type

from legionary.intake import receipts
from legionary.intake.models import Receipt


def test_a_receipt_carries_at_least_seventy_bits() -> None:
    # docs/security.md ("Receipts") rests the choice of a keyed HMAC over a slow hash on this figure.
    bits = receipts.RECEIPT_WORDS * math.log2(len(set(receipts.word_list())))
    assert bits >= 70
    drawn = receipts.new_receipt().split()
    assert len(drawn) == receipts.RECEIPT_WORDS and set(drawn) <= set(receipts.word_list())


def test_the_stored_digest_is_an_hmac_under_the_keyrings_receipt_key() -> None:
    from legionary.identity.services import key_provider

    receipt = receipts.new_receipt()
    stored = receipts.digest(receipt)
    version, _key = key_provider().index_key(receipts.KEY_NAME)
    assert stored.startswith(f"hmac-sha256${version}$") and len(stored.rsplit("$", 1)[1]) == 64
    assert "argon2" not in stored
    assert receipts.matches(stored, receipt)
    assert not receipts.matches(stored, receipts.new_receipt())
    assert not receipts.needs_upgrade(stored)


def test_a_digest_under_a_key_version_the_keyring_lacks_or_a_damaged_one_matches_nothing() -> None:
    receipt = receipts.new_receipt()
    stored = receipts.digest(receipt)
    hexdigest = stored.rsplit("$", 1)[1]
    assert not receipts.matches(f"hmac-sha256$999${hexdigest}", receipt)
    assert not receipts.matches(f"hmac-sha256$x${hexdigest}", receipt)
    assert not receipts.matches(stored[:-1], receipt)


def test_a_receipt_stored_as_argon2id_before_still_verifies_and_needs_upgrading() -> None:
    receipt = receipts.new_receipt()
    for older in (
        receipts.HASHER,
        PasswordHasher(time_cost=1, memory_cost=4 * 1024, parallelism=1, hash_len=16, salt_len=8, type=Type.ID),
    ):
        stored = older.hash(receipt)
        assert receipts.matches(stored, receipt)
        assert not receipts.matches(stored, receipts.new_receipt())
        assert receipts.needs_upgrade(stored)


@pytest.mark.django_db
def test_checking_a_receipt_stored_as_argon2id_stores_its_hmac_and_it_keeps_working() -> None:
    from legionary.intake.schema import validate_application
    from legionary.intake.services import Channel, application_submit, receipt_status
    from tests.intake.helpers import application

    submission = application_submit(application=validate_application(application()), channel=Channel.API)
    receipt = submission.receipt
    assert receipt is not None
    row = Receipt.objects.get(case__person=submission.person)
    Receipt.objects.filter(pk=row.pk).update(digest=receipts.HASHER.hash(receipt))
    assert receipt_status(receipt=receipt, client_address="198.51.100.7") is not None
    upgraded = Receipt.objects.get(pk=row.pk).digest
    assert upgraded.startswith("hmac-sha256$")
    assert receipt_status(receipt=receipt, client_address="198.51.100.7") is not None
    assert receipt_status(receipt=receipts.new_receipt(), client_address="198.51.100.8") is None
