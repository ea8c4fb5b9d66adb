"""Pseudonymous people and their sealed identities.

Only ``identity.services`` reads or writes ``SealedIdentity``, ``SealedRecord``, ``SealedDocument``
and ``BlindIndex``; everything else in the project sees a ``Person``: a random id, a call sign, a
legion and a status. No column here holds plaintext identity.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from legionary.db import ByteOrderCharField


class PersonStatus(models.TextChoices):
    RECEIVED = "received", _("Application received")
    IN_VETTING = "in_vetting", _("In vetting")
    APPROVED = "approved", _("Approved")
    DENIED = "denied", _("Denied")
    IN_TRAINING = "in_training", _("In training")
    TRAINED = "trained", _("Trained")
    ASSIGNED = "assigned", _("Assigned")
    ACTIVE = "active", _("Active")
    ON_LEAVE = "on_leave", _("On leave")
    WOUNDED = "wounded", _("Wounded")
    MISSING = "missing", _("Missing")
    DISCHARGED = "discharged", _("Discharged")
    DECEASED = "deceased", _("Deceased")


class Person(models.Model):
    """The pseudonymous side of a person: what operational records refer to."""

    id = models.CharField(primary_key=True, max_length=24, editable=False)
    call_sign = models.CharField(max_length=40)
    # Case-, script- and homoglyph-folded form of the call sign; unique, so "Zaza" and "ZАZА"
    # (with Cyrillic А) cannot both exist. Byte order, so that people lists sort alike on both
    # databases and a call-sign prefix search is one range of the unique index.
    call_sign_key = ByteOrderCharField(max_length=80, unique=True)
    legion = models.CharField(max_length=32, db_index=True)
    status = models.CharField(max_length=16, choices=PersonStatus.choices, default=PersonStatus.RECEIVED)
    external_ref = models.CharField(max_length=64, null=True, blank=True, unique=True)
    language = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField(db_index=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["legion", "status"], name="person_legion_status"),
            # People lists of one legion in call-sign order, keyset-paginated (units, reports).
            models.Index(fields=["legion", "call_sign_key"], name="person_legion_callsign"),
        ]

    def __str__(self) -> str:
        return f"{self.call_sign} ({self.id})"

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None


class SealedIdentity(models.Model):
    """The person's data key, wrapped by a key-encryption key, and the sealed identity document."""

    person = models.OneToOneField(Person, primary_key=True, on_delete=models.CASCADE, related_name="sealed")
    kek_version = models.PositiveIntegerField(db_index=True)
    wrapped_dek = models.BinaryField()
    ciphertext = models.BinaryField()
    updated_at = models.DateTimeField()


class SealedRecord(models.Model):
    """Another sealed value of a person (e.g. a vetting note), under the same data key."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="sealed_records")
    kind = models.CharField(max_length=32)
    ciphertext = models.BinaryField()
    created_at = models.DateTimeField()


class SealedDocument(models.Model):
    """An uploaded scan, encrypted on disk with the person's data key (chunked AEAD)."""

    id = models.CharField(primary_key=True, max_length=32, editable=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="documents")
    content_type = models.CharField(max_length=32)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()


class BlindIndex(models.Model):
    """A truncated keyed HMAC of one normalised value of a person, for finding duplicates."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="blind_indexes")
    name = models.CharField(max_length=32)
    key_version = models.PositiveIntegerField()
    value = models.BinaryField(max_length=32)

    class Meta:
        indexes = [models.Index(fields=["name", "key_version", "value"], name="blind_index_lookup")]
