"""Retention: denied people's sealed identities go after the legion's period; their indexes stay."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command

from legionary.audit.models import Entry
from legionary.identity.models import BlindIndex, PersonStatus, SealedIdentity
from legionary.vetting import services
from legionary.vetting.models import Case, Outcome
from tests.vetting.conftest import NOW, RATIONALE, Cast, Submit, finish_checks, start

# Erasure scrubs SQLite's WAL after committing, which cannot happen inside a test's wrapping transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def _denied(submit: Submit, cast: Cast, legion: str = "geo") -> Case:
    case = finish_checks(start(submit(legion=legion), cast), cast, results={"background": "disqualifying"})
    for who in cast.adjudicators[:2]:
        services.case_decide(case_id=case.pk, actor=who, outcome=Outcome.DENY, rationale=RATIONALE, now=NOW)
    case.refresh_from_db()
    return case


def test_a_denied_identity_stays_until_the_period_ends(submit: Submit, vetting_cast: Cast) -> None:
    case = _denied(submit, vetting_cast)  # "geo" uses the default policy: 730 days
    assert services.retention_run(now=NOW + datetime.timedelta(days=729)) == []
    assert SealedIdentity.objects.filter(person=case.person).exists()


def test_after_the_period_the_identity_goes_and_the_indexes_stay(submit: Submit, vetting_cast: Cast) -> None:
    case = _denied(submit, vetting_cast)
    indexes = BlindIndex.objects.filter(person=case.person).count()
    assert services.retention_run(now=NOW + datetime.timedelta(days=731)) == [case.person_id]
    case.person.refresh_from_db()
    assert case.person.is_erased and case.person.status == PersonStatus.DENIED
    assert not SealedIdentity.objects.filter(person=case.person).exists()
    assert BlindIndex.objects.filter(person=case.person).count() == indexes > 0


def test_retention_is_per_legion(submit: Submit, vetting_cast: Cast) -> None:
    frl = _denied(submit, vetting_cast, legion="frl")  # 1095 days in the shipped policy
    assert services.retention_run(now=NOW + datetime.timedelta(days=800)) == []
    assert services.retention_run(now=NOW + datetime.timedelta(days=1096)) == [frl.person_id]


def test_a_re_application_after_erasure_is_still_flagged(submit: Submit, vetting_cast: Cast) -> None:
    _denied(submit, vetting_cast)
    services.retention_run(now=NOW + datetime.timedelta(days=731))
    again = submit(legion="geo")
    assert again.flagged and again.flags.get().matched_status == PersonStatus.DENIED


def test_the_command_is_idempotent_and_audited(submit: Submit, vetting_cast: Cast) -> None:
    case = _denied(submit, vetting_cast)
    later = (NOW + datetime.timedelta(days=800)).date().isoformat()
    out = io.StringIO()
    call_command("vetting", "retention", "--now", later, stdout=out)
    assert "Erased 1" in out.getvalue() and case.person_id in out.getvalue()
    out = io.StringIO()
    call_command("vetting", "retention", "--now", later, stdout=out)
    assert "Erased 0" in out.getvalue()
    assert Entry.objects.filter(action="vetting.retention_run").count() == 2
    assert Entry.objects.filter(action="identity.erased", subject=case.person_id).count() == 1


def test_an_erased_denied_person_cannot_be_appealed(submit: Submit, vetting_cast: Cast) -> None:
    case = _denied(submit, vetting_cast)
    services.retention_run(now=NOW + datetime.timedelta(days=731))
    with pytest.raises(services.VettingError, match="erased"):
        services.appeal_enter(case_id=case.pk, actor=vetting_cast.intake, grounds="New evidence of innocence.")
