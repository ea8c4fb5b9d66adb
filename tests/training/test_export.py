"""The CSV export of a gradebook: call signs only, audited with its row count."""

from __future__ import annotations

import csv
import io

from legionary.audit.models import Entry
from legionary.identity.models import Person
from legionary.training import services
from legionary.training.models import Assessment
from tests.conftest import signed_in
from tests.training.conftest import Training, enrol


def test_the_csv_has_call_signs_only_and_the_export_is_audited_with_its_row_count(training: Training) -> None:
    zaza = enrol(training, "Zaza")
    enrol(training, "Caesar")
    written = Assessment.objects.get(code="tactics-written")
    services.result_record(actor=training.instructor, enrolment_id=zaza, assessment_id=written.pk, score=72)
    response = signed_in(training.instructor).get(f"/training/cohorts/{training.cohort.pk}/gradebook.csv", secure=True)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["call_sign"] for r in rows] == ["Caesar", "Zaza"]
    assert rows[1]["tactics/tactics-written"] == "72 entered"
    for person in Person.objects.all():
        assert person.pk not in text  # not even the pseudonymous id
    assert "Synthetikov" not in text and "Quentin" not in text
    entry = Entry.objects.get(action="training.gradebook_exported")
    assert entry.subject == f"cohort:{training.cohort.pk}"
    assert b'"rows":2' in bytes(entry.body)


def test_a_call_sign_that_looks_like_a_formula_is_exported_as_text(training: Training) -> None:
    enrol(training, "Zaza")
    person = Person.objects.get(call_sign="Zaza")
    person.call_sign = "-Zaza"  # call signs may hold hyphens; a spreadsheet would read "-..." as a formula
    person.save(update_fields=["call_sign"])
    text, rows = services.gradebook_export(actor=training.instructor, cohort_id=training.cohort.pk)
    assert rows == 1
    assert "\r\n'-Zaza," in text
