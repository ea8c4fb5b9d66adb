"""application_submit: one transaction for person, case, receipt, documents and screening."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.conf import settings

from legionary.audit.models import Entry
from legionary.identity.documents import DocumentRefused
from legionary.identity.models import BlindIndex, Person, PersonStatus, SealedDocument
from legionary.identity.services import IdentityError
from legionary.intake import receipts
from legionary.intake.models import Receipt
from legionary.intake.schema import validate_application
from legionary.intake.services import Channel, application_submit, receipt_status
from legionary.vetting.models import Case, CaseState, ScreeningFlag
from tests.intake.helpers import PDF, PNG, application

pytestmark = pytest.mark.django_db


def _files() -> set[Path]:
    root = Path(settings.LEGIONARY_UPLOADS)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_a_submission_creates_person_case_receipt_and_audit_entries_together() -> None:
    submission = application_submit(
        application=validate_application(application()), uploads=[io.BytesIO(PDF)], channel=Channel.FORM
    )
    case = Case.objects.get(person=submission.person)
    assert case.state == CaseState.RECEIVED and case.channel == "form" and not case.flagged
    assert case.profile == {"military_experience": "conscript", "years_of_service": 2, "skills": ["medic"]}
    assert SealedDocument.objects.filter(person=submission.person).count() == 1
    assert submission.receipt is not None and len(submission.receipt.split()) == receipts.RECEIPT_WORDS
    stored = Receipt.objects.get(case=case)
    assert submission.receipt not in stored.digest and stored.digest.startswith("hmac-sha256$")
    actions = set(Entry.objects.filter(subject=submission.person.id).values_list("action", flat=True))
    assert {"person.created", "application.received"} <= actions


def test_the_receipt_tells_the_coarse_state_and_a_wrong_one_tells_nothing() -> None:
    submission = application_submit(application=validate_application(application()), channel=Channel.API)
    assert submission.receipt is not None
    assert receipt_status(receipt=submission.receipt.upper(), client_address="192.0.2.1") == "received"
    Case.objects.filter(person=submission.person).update(state=CaseState.APPROVED)
    four_letters = " ".join(w[:4] for w in submission.receipt.split())
    assert receipt_status(receipt=four_letters, client_address="192.0.2.1") == "invited"
    Case.objects.filter(person=submission.person).update(state=CaseState.DENIED)
    assert receipt_status(receipt=submission.receipt, client_address="192.0.2.1") == "not_accepted"
    assert receipt_status(receipt="abandon " * 7, client_address="192.0.2.1") is None


def test_a_returning_denied_applicant_is_flagged_with_reasons_and_the_applicant_is_not_told() -> None:
    first = application_submit(application=validate_application(application()), channel=Channel.IMPORT)
    Person.objects.filter(pk=first.person.pk).update(status=PersonStatus.DENIED)
    again = application(external_ref="t-0002", identity__given_names="Zebulon", identity__phone=None)
    second = application_submit(application=validate_application(again), channel=Channel.FORM)
    flag = ScreeningFlag.objects.get(case__person=second.person)
    assert flag.matched_person_id == first.person.id
    assert flag.matched_status == PersonStatus.DENIED
    assert "document" in flag.reasons
    assert Case.objects.get(person=second.person).flagged
    entry = Entry.objects.get(subject=second.person.id, action="screening.flagged")
    assert json.loads(bytes(entry.body))["details"]["matched_denied"] is True
    assert receipt_status(receipt=second.receipt or "", client_address="192.0.2.9") == "received"


def test_a_failing_second_upload_leaves_no_person_case_index_receipt_or_file() -> None:
    before = (Person.objects.count(), Case.objects.count(), BlindIndex.objects.count(), Receipt.objects.count())
    files_before = _files()
    not_a_document = io.BytesIO(b"MZ\x90\x00 an executable, not a scan")
    with pytest.raises(DocumentRefused):
        application_submit(
            application=validate_application(application()),
            uploads=[io.BytesIO(PNG), not_a_document],
            channel=Channel.FORM,
        )
    after = (Person.objects.count(), Case.objects.count(), BlindIndex.objects.count(), Receipt.objects.count())
    assert after == before
    assert _files() == files_before
    assert not Entry.objects.filter(action="application.received").exists()


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    files_before = _files()
    too_big = io.BytesIO(PDF + b"\x00" * (20 * 1024 * 1024))
    with pytest.raises(IdentityError):
        application_submit(application=validate_application(application()), uploads=[too_big], channel=Channel.FORM)
    assert Person.objects.count() == 0
    assert _files() == files_before
