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
            # The longest waiting of one status first (My work: approved to enrol, trained to assign):
            # read in order and stopped at the page, not sorted out of every person of the status.
            models.Index(fields=["status", "created_at", "id"], name="person_status_waiting"),
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
        # The person closes the key: a lookup and the duplicate pass read the index alone, in bucket
        # order, without visiting the table (identity migration 0006).
        indexes = [models.Index(fields=["name", "key_version", "value", "person"], name="blind_index_bucket")]


# --- purpose-bound opening (identity.openings) ---------------------------------------------------


class OpeningRequest(models.Model):
    """A break-glass request: an opening outside one's assignments or past one's daily allowance.

    ``pending`` until a security officer (never the requester) approves or refuses it before
    ``expires_at``; an approval is good for one opening (``used``) before the new ``expires_at``.
    ``immediate`` is a break-glass the legion's policy let through at once (an alert to the security
    officer). The reason is the one written for the opening (no identity is ever written there).
    """

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    requester = models.ForeignKey("access.Staff", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16)  # identity, kin, documents
    cause = models.CharField(max_length=16)  # unassigned, allowance
    reason = models.CharField(max_length=500)
    state = models.CharField(max_length=16, default="pending")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey("access.Staff", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "created_at"], name="opening_request_state"),
            models.Index(fields=["requester", "state"], name="opening_request_requester"),
        ]


class Opening(models.Model):
    """One opening of sealed data, written with its audit entry: what the daily allowance counts and
    the openings monitor reads. ``check_id``/``case_id``/``unit_id`` name the assignment it was for;
    ``request`` the break-glass it went through (if any)."""

    staff = models.ForeignKey("access.Staff", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16)
    at = models.DateTimeField()
    check_id = models.IntegerField(null=True, blank=True)
    case_id = models.IntegerField(null=True, blank=True)
    unit_id = models.IntegerField(null=True, blank=True)
    request = models.ForeignKey(OpeningRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    audit_index = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["staff", "at"], name="opening_staff_at"),
            models.Index(fields=["at"], name="opening_at"),
        ]
