"""Receipts and the record of wrong receipt attempts; nothing here identifies an applicant.

A receipt is stored only as an Argon2id hash plus a short keyed lookup value, so the passphrase
cannot be read back and checking one does not mean hashing against every row. Wrong attempts are
kept per keyed hash of the client address (never the address itself: an applicant's address is
itself sensitive).
"""

from __future__ import annotations

from django.db import models

from legionary.vetting.models import Case


class Receipt(models.Model):
    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="receipt")
    # First 8 bytes of HMAC-SHA256(server key, receipt), hex: finds the row without revealing the receipt.
    lookup = models.CharField(max_length=16, db_index=True)
    # hmac-sha256$VERSION$HEX under the keyring's receipt key; older rows: an Argon2id encoded hash.
    digest = models.CharField(max_length=128)
    created_at = models.DateTimeField()


class ReceiptFailure(models.Model):
    """One wrong receipt entered from a client; counted in a sliding window to rate-limit guessing."""

    client = models.CharField(max_length=32)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["client", "at"], name="receipt_failure_client_at")]


class SubmissionRecord(models.Model):
    """One application accepted from a public client; counted in a sliding window to rate-limit."""

    client = models.CharField(max_length=32)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["client", "at"], name="submission_client_at")]


class ApplicationDraft(models.Model):
    """The answers of an application being filled in step by step, sealed with a key only the browser holds.

    The browser's draft cookie carries 32 random bytes; the row's id and its AES-GCM key are both
    derived from them (``legionary.intake.drafts``), so the server keeps ciphertext it cannot open
    without the applicant's cookie, and a stolen database opens no draft. Rows die on submission,
    after ``DRAFT_SECONDS`` without a step, or when the confirmation page has shown the receipt.
    """

    id = models.CharField(max_length=64, primary_key=True)
    sealed = models.BinaryField()
    updated_at = models.DateTimeField(db_index=True)
