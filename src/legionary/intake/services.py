"""Intake's state changes: an application arriving, a receipt being checked, a case being assigned.

``application_submit`` is the one way in for the public form, the public API and ``legionary
import``: in one transaction it creates the person (sealed identity, blind indexes), the vetting
case, the encrypted documents, the receipt and the screening flags, with their audit entries. If
any step fails nothing of it stays, files included.

This module never sees a key, never logs an application or a receipt, and never tells an
applicant about screening: the flags are for counter-intelligence only.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, BinaryIO

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from legionary.access.addresses import client_bucket
from legionary.access.models import Staff
from legionary.audit.services import AuditItem, audit_at_end, audit_record, audit_record_many
from legionary.db import insert_instances, insert_with_child
from legionary.identity.models import Person, PersonStatus
from legionary.identity.services import (
    Actor,
    Candidates,
    NewPerson,
    document_check,
    document_discard_files,
    document_store,
    people_create_batch,
    people_seal,
    person_create,
    person_seal,
    screening_candidates_many,
)
from legionary.intake import receipts
from legionary.intake.models import Receipt, ReceiptFailure, SubmissionRecord
from legionary.intake.schema import Application
from legionary.vetting import services as vetting
from legionary.vetting.models import Case, CaseState, ScreeningFlag
from legionary.vetting.screening import screen_people

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOADS = 10
# Wrong receipts allowed per client in the window before every check from it is refused. Kept in
# the database rather than Django's cache: the default cache is per process, so with several
# gunicorn workers (or hosts) a cache-based limit would be multiplied by their number.
RECEIPT_FAILURE_LIMIT = int(getattr(settings, "LEGIONARY_RECEIPT_FAILURE_LIMIT", 10))
RECEIPT_FAILURE_WINDOW = timedelta(minutes=int(getattr(settings, "LEGIONARY_RECEIPT_FAILURE_MINUTES", 60)))
# Applications accepted per public client in the window (``LEGIONARY_APPLY_LIMIT``, read per call).
SUBMISSION_WINDOW = timedelta(hours=1)


class Channel(StrEnum):
    FORM = "form"
    API = "api"
    IMPORT = "import"


class PublicState(StrEnum):
    """What an applicant may learn from his receipt: four coarse states, nothing else."""

    RECEIVED = "received"
    IN_REVIEW = "in_review"
    INVITED = "invited"  # decision made: come to the interview point
    NOT_ACCEPTED = "not_accepted"


class IntakeError(Exception):
    """An intake action was refused; the message is a sentence for the person who asked."""


class TooManyAttempts(IntakeError):
    """Too many wrong receipts from this client lately."""


class TooManySubmissions(IntakeError):
    """Too many applications from this client lately."""


class NotInScope(IntakeError):
    """The case does not exist or is outside the actor's legions (answered as 404)."""


@dataclass(frozen=True)
class Submission:
    person: Person
    case: Case
    # The passphrase, to show once; None for imported records, which have no applicant to show it to.
    receipt: str | None
    flags: int


def _split_profile(application: Application) -> tuple[dict[str, Any], str | None, dict[str, str]]:
    """(the case's profile, the preferred call sign, the records to seal) of an application.

    The contract keeps the profile operational, but a free-text motivation easily names people
    or places: it is sealed under the person's key and the case keeps only the structured fields.
    """
    profile = application.profile_document()
    motivation = profile.pop("motivation", None)
    preferred = profile.pop("preferred_call_sign", None)
    return profile, preferred, {"motivation": motivation} if motivation else {}


def _mark_possible(person_ids: list[str], possible: Candidates, *, actor: str) -> None:
    """Marks the new cases whose person screening's possible tier pairs with someone (``possible``:
    ``screening_candidates_many(person_ids)[1]``; one update), so that they reach a
    counter-intelligence officer's "My work" even when nothing else flags them; audited by
    pseudonymous ids and reason names only."""
    # As if they had arrived one after another (as the match tier's flags are): a person of the
    # batch is paired with those stored before it and those earlier in the batch, never later ones.
    order = {person_id: position for position, person_id in enumerate(person_ids)}
    pairs = {
        person_id: earlier
        for person_id, found in possible.items()
        if (earlier := [(o, r) for o, r in found if order.get(o, -1) < order[person_id]])
    }
    if not pairs:
        return
    Case.objects.filter(person_id__in=list(pairs)).update(possible="open")
    audit_record_many(
        [
            AuditItem(
                actor=actor,
                action="screening.possible",
                subject=person_id,
                details={
                    "matched": [other for other, _ in found],
                    "reasons": sorted({reason for _, reasons in found for reason in reasons}),
                },
            )
            for person_id, found in pairs.items()
        ]
    )


def _screen(*, case: Case, person: Person, actor: str) -> int:
    # Both tiers from one join of the index table (two queries).
    duplicates, possible = screening_candidates_many([person.id])
    _mark_possible([person.id], possible, actor=actor)
    candidates = duplicates.get(person.id, [])
    if not candidates:
        return 0
    statuses = dict(Person.objects.filter(id__in=[other for other, _ in candidates]).values_list("id", "status"))
    now = timezone.now()
    ScreeningFlag.objects.bulk_create(
        ScreeningFlag(
            case=case,
            matched_person_id=other,
            reasons=reasons,
            matched_status=statuses.get(other, ""),
            created_at=now,
        )
        for other, reasons in candidates
    )
    case.flagged = True
    case.save(update_fields=["flagged"])
    audit_record(
        actor=actor,
        action="screening.flagged",
        subject=person.id,
        details={
            "reasons": sorted({reason for _, found in candidates for reason in found}),
            "matched": [other for other, _ in candidates],
            "matched_denied": any(statuses.get(other) == PersonStatus.DENIED for other, _ in candidates),
        },
    )
    return len(candidates)


def application_submit(
    *, application: Application, uploads: Sequence[BinaryIO] = (), channel: Channel, client_address: str | None = None
) -> Submission:
    """Receives one validated application: person, case, documents, receipt and screening, all or nothing.

    Each upload is decoded fully in the sandbox (``identity.documents``) before anything is written:
    ``DocumentRefused`` when one is not the PDF, JPEG or PNG it claims to be (its ``content_type``
    attribute, when it has one), is damaged, or is too large once opened.

    Raises ``IntegrityError`` when ``external_ref`` is already taken, ``IdentityError`` when an
    upload is too large, ``IntakeError`` when there are too many uploads,
    ``TooManySubmissions`` when ``client_address`` (public channels) has reached the hourly limit;
    the accepted submission is counted in the same transaction, so a refused one costs nothing.
    """
    if len(uploads) > MAX_UPLOADS:
        raise IntakeError(f"At most {MAX_UPLOADS} documents may be attached.")
    actor = f"intake:{channel}"
    stored: list[str] = []
    receipt = receipt_lookup = receipt_digest = None
    if channel != Channel.IMPORT:
        # Computed before the transaction: on SQLite a transaction holds the single write lock
        # from its start (the receipt's HMAC is cheap now, but the sealing below is not).
        receipt = receipts.new_receipt()
        receipt_lookup, receipt_digest = receipts.lookup_key(receipt), receipts.digest(receipt)
    # Decoding the uploads, sealing and blind indexes are CPU work too: done before the
    # transaction for the same reason.
    checked = [
        document_check(upload, claimed_type=getattr(upload, "content_type", None), max_bytes=MAX_UPLOAD_BYTES)
        for upload in uploads
    ]
    identity = application.identity_document()
    profile, preferred, records = _split_profile(application)
    sealed = person_seal(identity, records=records)
    try:
        # audit_at_end: the entries are appended as the transaction's last statement, so the
        # log's lock is not held while the uploads are encrypted and the screening runs.
        with transaction.atomic(), audit_at_end():
            if client_address is not None:
                _count_submission(client_key(client_address))
            person = person_create(
                identity=identity,
                legion=application.legion,
                actor=Actor(actor),
                language=application.language,
                preferred_call_sign=preferred,
                external_ref=application.external_ref,
                sealed=sealed,
                # One audit append for both entries; the documents are counted before they are
                # stored, and if one is refused the whole submission rolls back with its entries.
                also_audit=[
                    AuditItem(
                        actor=actor,
                        action="application.received",
                        subject=sealed.person_id,
                        details={"channel": str(channel), "legion": application.legion, "documents": len(uploads)},
                    )
                ],
            )
            now = timezone.now()
            case = Case(
                person=person,
                legion=application.legion,
                state=CaseState.RECEIVED,
                created_at=now,
                updated_at=now,
                profile=profile,
                channel=str(channel),
            )
            # The case and its receipt: one statement on PostgreSQL.
            receipt_row = None
            if receipt_lookup is not None and receipt_digest is not None:
                receipt_row = Receipt(case=case, lookup=receipt_lookup, digest=receipt_digest, created_at=now)
            insert_with_child(case, receipt_row, "case")
            for data, info in checked:
                document = document_store(
                    person=person,
                    source=io.BytesIO(data),
                    max_bytes=MAX_UPLOAD_BYTES,
                    checked=info,
                    sealed=sealed.sealed,  # the identity just written: its data key, not read back
                )
                stored.append(document.id)
            flags = _screen(case=case, person=person, actor=actor)
            # Designation lists, on arrival: a hit flags the case for counter-intelligence now;
            # the applicant's status page does not change.
            screen_people([person.id], actor=actor)
    except BaseException:
        # The rows went with the rollback; the encrypted files are outside the database.
        document_discard_files(stored)
        raise
    return Submission(person=person, case=case, receipt=receipt, flags=flags)


# A process forgets submission records older than the window at most once per this many seconds
# (one DELETE for every client's), not on the submissions themselves: old records are never
# counted (the count reads only the window), so they are garbage, not state.
SWEEP_SECONDS = 60.0
_next_sweep = 0.0


def _count_submission(client: str) -> None:
    """Counts one accepted submission from ``client``, or raises ``TooManySubmissions`` when the
    client has reached the hourly limit. One statement: the record is inserted only when the
    client's records in the window are fewer than the limit (``INSERT ... SELECT ... WHERE``)."""
    global _next_sweep
    now = timezone.now()
    limit = int(getattr(settings, "LEGIONARY_APPLY_LIMIT", 20))
    since = now - SUBMISSION_WINDOW
    clock = time.monotonic()
    if clock >= _next_sweep:
        _next_sweep = clock + SWEEP_SECONDS
        SubmissionRecord.objects.filter(at__lt=since).delete()
    quote = connection.ops.quote_name
    at = SubmissionRecord._meta.get_field("at")
    table, who, when = quote(SubmissionRecord._meta.db_table), quote("client"), quote(str(at.column))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({who}, {when}) SELECT %s, %s "  # noqa: S608 — quoted model names, placeholders
            f"WHERE (SELECT COUNT(*) FROM {table} WHERE {who} = %s AND {when} >= %s) < %s",
            [client, at.get_db_prep_value(now, connection), client, at.get_db_prep_value(since, connection), limit],
        )
        counted = cursor.rowcount == 1
    if not counted:
        raise TooManySubmissions("Too many applications were sent from here. Try again in an hour.")


@dataclass(frozen=True)
class BatchResult:
    accepted: int
    flagged: int
    already_imported: int


def applications_import_batch(*, applications: Sequence[Application]) -> BatchResult:
    """Stores many imported applications in one transaction: the same rows and audit entries as
    ``application_submit`` gives each, written with a few bulk statements.

    Used by ``legionary import``: an interruption rolls back the batch in flight and leaves every
    earlier batch whole; a re-run skips the ``external_ref`` values already stored. Imported
    applications carry no uploads and get no receipt (there is no applicant to show it to).
    """
    actor = f"intake:{Channel.IMPORT}"
    refs = [a.external_ref for a in applications if a.external_ref]
    stored_refs = set(Person.objects.filter(external_ref__in=refs).values_list("external_ref", flat=True))
    fresh: list[Application] = []
    seen: set[str] = set()
    for application in applications:
        ref = application.external_ref
        if ref and (ref in stored_refs or ref in seen):
            continue
        if ref:
            seen.add(ref)
        fresh.append(application)
    already = len(applications) - len(fresh)
    if not fresh:
        return BatchResult(accepted=0, flagged=0, already_imported=already)
    parts = [_split_profile(a) for a in fresh]
    profiles = [profile for profile, _, _ in parts]
    items = [
        NewPerson(
            identity=a.identity_document(),
            legion=a.legion,
            language=a.language,
            preferred_call_sign=preferred,
            external_ref=a.external_ref,
            records=records,
        )
        for a, (_, preferred, records) in zip(fresh, parts, strict=True)
    ]
    # The CPU-heavy part (sealing, blind indexes) before the transaction, so the write lock is
    # held only for the inserts.
    sealed = people_seal(items)
    with transaction.atomic():
        people = people_create_batch(items=items, actor=Actor(actor), sealed=sealed)
        now = timezone.now()
        insert_instances(
            Case,
            [
                Case(
                    person=person,
                    legion=person.legion,
                    state=CaseState.RECEIVED,
                    created_at=now,
                    updated_at=now,
                    profile=profile,
                    channel=str(Channel.IMPORT),
                )
                for person, profile in zip(people, profiles, strict=True)
            ],
        )
        audit_record_many(
            [
                AuditItem(
                    actor=actor,
                    action="application.received",
                    subject=person.id,
                    details={"channel": str(Channel.IMPORT), "legion": person.legion, "documents": 0},
                )
                for person in people
            ]
        )
        matches, possible = screening_candidates_many([p.id for p in people])
        flagged = 0
        if matches:
            # The cases were inserted without returning their ids: read back the flagged ones.
            case_of = {case.person_id: case for case in Case.objects.filter(person_id__in=list(matches))}
            others = {other for found in matches.values() for other, _ in found}
            statuses = dict(Person.objects.filter(id__in=list(others)).values_list("id", "status"))
            flags: list[ScreeningFlag] = []
            flag_entries: list[AuditItem] = []
            for person_id, found in matches.items():
                flags.extend(
                    ScreeningFlag(
                        case=case_of[person_id],
                        matched_person_id=other,
                        reasons=reasons,
                        matched_status=statuses.get(other, ""),
                        created_at=now,
                    )
                    for other, reasons in found
                )
                flag_entries.append(
                    AuditItem(
                        actor=actor,
                        action="screening.flagged",
                        subject=person_id,
                        details={
                            "reasons": sorted({reason for _, r in found for reason in r}),
                            "matched": [other for other, _ in found],
                            "matched_denied": any(statuses.get(other) == PersonStatus.DENIED for other, _ in found),
                        },
                    )
                )
            ScreeningFlag.objects.bulk_create(flags, batch_size=500)
            audit_record_many(flag_entries)
            Case.objects.filter(person_id__in=list(matches)).update(flagged=True)
            flagged = len(matches)
        _mark_possible([p.id for p in people], possible, actor=actor)
        # Designation lists, on arrival, for the whole batch at once (one join).
        screen_people([p.id for p in people], actor=actor)
    return BatchResult(accepted=len(fresh), flagged=flagged, already_imported=already)


# --- receipts ------------------------------------------------------------------------------------


def client_key(address: str) -> str:
    """A keyed hash of the client the address counts as (an IPv4 address, an IPv6 /64): enough to
    count attempts, useless for finding anyone."""
    key = hashlib.sha256(b"legionary.intake.client." + settings.SECRET_KEY.encode("utf-8")).digest()
    return hmac.new(key, client_bucket(address).encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:32]


def _public_state(case: Case) -> PublicState:
    if case.state == CaseState.RECEIVED:
        return PublicState.RECEIVED
    if case.state == CaseState.APPROVED:
        return PublicState.INVITED
    if case.state == CaseState.DENIED:
        return PublicState.NOT_ACCEPTED
    return PublicState.IN_REVIEW


def _recent_failures(client: str) -> int:
    return ReceiptFailure.objects.filter(client=client, at__gte=timezone.now() - RECEIPT_FAILURE_WINDOW).count()


@transaction.atomic
def _record_failure(client: str) -> None:
    now = timezone.now()
    # Old attempts of this client are forgotten as new ones come, so the table stays small.
    ReceiptFailure.objects.filter(client=client, at__lt=now - RECEIPT_FAILURE_WINDOW).delete()
    ReceiptFailure.objects.create(client=client, at=now)


def receipt_status(*, receipt: str, client_address: str) -> PublicState | None:
    """The coarse state of the application a receipt belongs to, or None for a wrong receipt.

    Raises ``TooManyAttempts`` once a client has entered too many wrong receipts in the window;
    from then on even a right one is refused until the window passes, so guessing gains nothing.
    """
    client = client_key(client_address)
    if _recent_failures(client) >= RECEIPT_FAILURE_LIMIT:
        raise TooManyAttempts("Too many wrong receipts were entered from here. Try again in an hour.")
    normalised = receipts.normalise(receipt)
    if normalised is not None:
        for row in Receipt.objects.filter(lookup=receipts.lookup_key(normalised)).select_related("case"):
            if receipts.matches(row.digest, normalised):
                if receipts.needs_upgrade(row.digest):
                    # Stored as Argon2id before; now that the receipt is at hand, store its HMAC.
                    Receipt.objects.filter(pk=row.pk).update(digest=receipts.digest(normalised))
                return _public_state(row.case)
    receipts.spend_decoy_time(normalised or "x")
    _record_failure(client)
    return None


# --- the intake queue ----------------------------------------------------------------------------


def case_assign(*, case_id: int, investigator_id: int, actor: Any) -> Case:
    """Assigns a case to an investigator as its case officer (vetting starts with it), audited.

    The work is vetting's (``vetting.services.case_assign``); this keeps intake's errors.
    """
    return cases_assign(case_ids=[case_id], investigator_id=investigator_id, actor=actor)[0]


def cases_assign(*, case_ids: list[int], investigator_id: int, actor: Any) -> list[Case]:
    """Assigns several new cases to one investigator at once: all of them, or none on any refusal."""
    investigator = Staff.objects.filter(pk=investigator_id, is_active=True).first()
    if investigator is None:
        raise IntakeError("Choose an investigator who may work on this legion's cases.")
    try:
        return vetting.cases_assign(case_ids=case_ids, officer=investigator, actor=actor)
    except vetting.NotInScope:
        raise NotInScope("There is no such case.") from None
    except vetting.NotAllowed:
        raise NotInScope("There is no such case.") from None
    except vetting.VettingError as exc:
        raise IntakeError(str(exc)) from None
