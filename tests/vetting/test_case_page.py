"""The case page: safe forms, the opened identity whole and readable, flags resolved, history as sentences."""

from __future__ import annotations

import json
import re
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from legionary.audit.models import Entry
from legionary.identity.models import SealedRecord
from legionary.vetting import history, services
from legionary.vetting.models import Case, CaseState, FlagResolution, ScreeningFlag
from tests.conftest import MakeStaff, signed_in
from tests.vetting.conftest import RATIONALE, Cast, Submit, browser_post, finish_checks, start, token_post

pytestmark = pytest.mark.django_db


def _url(case: Case, name: str = "vetting:case", *more: int) -> str:
    return reverse(name, args=[case.pk, *more])


def _ready(submit: Submit, cast: Cast) -> Case:
    return finish_checks(start(submit(), cast), cast)


# --- safe forms -------------------------------------------------------------------------------------


def test_no_decision_radio_is_chosen_before_the_adjudicator_chooses(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    page = signed_in(vetting_cast.adjudicators[0]).get(_url(case), secure=True).content.decode()
    radios = re.findall(r"<input[^>]*type=\"radio\"[^>]*>", page)
    assert len(radios) >= 3 and not any("checked" in r for r in radios)


def test_no_check_result_radio_is_chosen_before_the_checker_chooses(submit: Submit, vetting_cast: Cast) -> None:
    case = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    page = signed_in(vetting_cast.examiner).get(_url(case), secure=True).content.decode()
    radios = re.findall(r"<input[^>]*type=\"radio\"[^>]*>", page)
    assert any('name="polygraph_outcome"' in r for r in radios) and not any("checked" in r for r in radios)


def test_a_denial_asks_for_confirmation_on_its_own_page_before_anything_is_stored(
    submit: Submit, vetting_cast: Cast
) -> None:
    case = finish_checks(start(submit(), vetting_cast), vetting_cast, results={"background": "disqualifying"})
    client = signed_in(vetting_cast.adjudicators[0])
    data = {"outcome": "deny", "rationale": RATIONALE, "version": case.version, "factor_nature": "Serious."}
    stop = browser_post(client, _url(case, "vetting:decide"), data)
    body = stop.content.decode()
    assert stop.status_code == 200 and 'id="confirm-deny-form"' in body
    assert "retention period" in body and not case.decisions.exists()
    # The typed values travel on unchanged; confirming records the vote.
    assert 'name="factor_nature" value="Serious."' in body
    done = browser_post(client, _url(case, "vetting:decide"), {**data, "confirmed": "yes"})
    assert done.status_code == 302
    assert case.decisions.get().outcome == "deny" and case.decisions.get().factors == {"nature": "Serious."}


def test_a_recorded_decision_redirects_with_a_success_banner(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    client = signed_in(vetting_cast.adjudicators[0])
    answer = browser_post(
        client, _url(case, "vetting:decide"), {"outcome": "approve", "rationale": RATIONALE, "version": case.version}
    )
    assert answer.status_code == 302 and answer["Location"] == _url(case)
    page = client.get(answer["Location"], secure=True).content.decode()
    assert "govuk-notification-banner--success" in page and "Your decision is recorded." in page


def test_a_refused_decision_keeps_every_value_typed(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    answer = browser_post(
        signed_in(vetting_cast.adjudicators[0]),
        _url(case, "vetting:decide"),
        {"outcome": "approve", "rationale": "too short", "version": case.version, "factor_frequency": "Long ago."},
    )
    body = answer.content.decode()
    assert answer.status_code == 400 and "govuk-error-summary" in body
    assert 'href="#decide-form"' in body
    assert re.search(r'id="outcome-approve"[^>]*checked', body)
    assert ">too short</textarea>" in body and ">Long ago.</textarea>" in body
    assert not case.decisions.exists()


def test_a_refused_polygraph_result_keeps_the_other_values(submit: Submit, vetting_cast: Cast) -> None:
    case = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    check = case.checks.get(check_type_id="polygraph")
    answer = browser_post(
        signed_in(vetting_cast.examiner),
        _url(case, "vetting:check-record", check.pk),
        {
            "result": "clear",
            "polygraph_outcome": "no_deception_indicated",
            "examined_on": "15/03/2026",  # not a date the form accepts
            "question_areas": "contacts with foreign services",
            "note": "Calm throughout.",
            "version": case.version,
        },
    )
    body = answer.content.decode()
    assert answer.status_code == 400
    assert re.search(rf'id="result-{check.pk}-clear"[^>]*checked', body)
    assert re.search(rf'id="polygraph-outcome-{check.pk}-no_deception_indicated"[^>]*checked', body)
    assert ">contacts with foreign services</textarea>" in body and ">Calm throughout.</textarea>" in body
    assert 'value="15/03/2026"' in body


def test_all_checks_are_reassigned_from_one_screen(submit: Submit, vetting_cast: Cast, make_staff: MakeStaff) -> None:
    other = make_staff("ina-investigator", "investigator")
    case = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    client = signed_in(vetting_cast.intake)
    page = client.get(_url(case, "vetting:checks-assign"), secure=True).content.decode()
    mine = list(case.checks.filter(check_type__role="investigator", result=""))
    assert all(f'<select class="govuk-select" id="check-{c.pk}"' in page for c in mine)
    answer = browser_post(
        client,
        _url(case, "vetting:checks-assign"),
        {f"check-{c.pk}": other.pk for c in mine} | {"version": Case.objects.get(pk=case.pk).version},
    )
    assert answer.status_code == 302
    assert set(case.checks.filter(pk__in=[c.pk for c in mine]).values_list("assigned_to", flat=True)) == {other.pk}
    assert f"{len(mine)} checks reassigned." in client.get(answer["Location"], secure=True).content.decode()


def test_only_who_assigns_checks_may_open_the_assignment_screen(submit: Submit, vetting_cast: Cast) -> None:
    case = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    assert signed_in(vetting_cast.investigator).get(_url(case, "vetting:checks-assign"), secure=True).status_code == 403


# --- the opened identity ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_opened_identity_is_whole_readable_and_never_a_python_repr(submit: Submit, vetting_cast: Cast) -> None:
    case = start(submit(legion="frl", identity__address="ул. Полярная, 7, Воркутоград"), vetting_cast)
    client = signed_in(vetting_cast.ci)
    answer = browser_post(client, _url(case, "vetting:unseal"), {"reason": "CI review: confirm the passport"})
    body = answer.content.decode()
    assert answer.status_code == 200 and "no-store" in answer["Cache-Control"]
    for label in ("Given names", "Family name", "Date of birth", "Citizenships", "Documents", "Address", "Motivation"):
        assert f'<dt class="govuk-summary-list__key">{label}</dt>' in body
    assert "Russian Federation" in body and "Passport, Russian Federation: QZ 7719 40321" in body
    assert "ул. Полярная, 7, Воркутоград" in body and "Freedom." in body and "Medic" in body
    assert "['RU']" not in body and "{'" not in body and "[{" not in body
    # Applicant-supplied values are isolated from the text around them.
    assert "<bdi>Xylographov</bdi>" in body
    # The next of kin are not in it: they are opened on their own, with their own reason.
    assert "Philomena" not in body
    assert Entry.objects.filter(action="record.unsealed", subject=case.person_id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_opened_identity_comes_with_the_checks_and_points_to_the_case_page_for_the_rest(
    submit: Submit, vetting_cast: Cast
) -> None:
    case = start(submit(legion="frl"), vetting_cast)
    client = signed_in(vetting_cast.ci)
    page = client.get(_url(case), secure=True).content.decode()
    assert 'id="history"' in page and 'id="decisions"' in page and 'id="opened-only"' not in page
    body = browser_post(client, _url(case, "vetting:unseal"), {"reason": "CI review: confirm the passport"}).content
    opened = body.decode()
    # What the opening serves is on the page: the identity, the checks (with his record form), the findings.
    assert 'id="identity"' in opened and 'id="checks"' in opened and 'id="findings"' in opened
    ci_review = case.checks.get(check_type__is_ci_review=True)
    assert f'id="record-form-{ci_review.pk}"' in opened
    # The rest is one link away, and not read for this page.
    assert 'id="history"' not in opened and 'id="decisions"' not in opened and 'id="flags"' not in opened
    assert f'href="{_url(case)}">the case page</a>' in opened


def _unseal_measured(submit: Submit, cast: Cast) -> tuple[Case, Any, list[str]]:
    """A CI officer opens a started case's identity: the case, the answer and the SQL of the post alone."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case = start(submit(legion="frl"), cast)
    client = signed_in(cast.ci)
    client.get(_url(case), secure=True)
    with CaptureQueriesContext(connection) as captured:
        answer = token_post(client, _url(case, "vetting:unseal"), {"reason": "CI review: confirm the passport"})
    return case, answer, [q["sql"] for q in captured.captured_queries]


@pytest.mark.django_db(transaction=True)
def test_an_identity_opened_with_its_motivation_checks_scope_passes_the_gate_and_unwraps_the_key_once(
    submit: Submit, vetting_cast: Cast
) -> None:
    case, answer, sql = _unseal_measured(submit, vetting_cast)
    assert answer.status_code == 200 and "Freedom." in answer.content.decode()  # the motivation, opened too
    # Two audit entries (identity and motivation) and two openings, in one append of the log...
    assert [
        Entry.objects.filter(subject=case.person_id, action=a).count() for a in ("identity.unsealed", "record.unsealed")
    ] == [1, 1]
    assert sum('UPDATE "audit_loghead"' in q for q in sql) == 1
    assert sum('INSERT INTO "identity_opening"' in q for q in sql) == 2
    # ...one read of the sealed identity (the data key unwrapped once) and one gate: the day's openings counted once.
    assert sum('FROM "identity_sealedidentity"' in q for q in sql) == 1
    assert sum('FROM "identity_opening"' in q and "COUNT(" in q for q in sql) == 1


@pytest.mark.django_db(transaction=True)
def test_an_identity_and_its_motivation_are_on_record_before_either_is_decrypted(
    submit: Submit, vetting_cast: Cast
) -> None:
    from legionary.identity import crypto
    from legionary.identity.models import Opening
    from legionary.identity.services import Actor, unseal_identity_with_records

    case = start(submit(legion="frl"), vetting_cast)
    record = SealedRecord.objects.get(person=case.person, kind="motivation")
    SealedRecord.objects.filter(pk=record.pk).update(ciphertext=bytes(record.ciphertext)[:-1] + b"\0")
    record.refresh_from_db()
    with pytest.raises(crypto.SealBrokenError):
        unseal_identity_with_records(
            person=case.person,
            actor=Actor(vetting_cast.ci.username, vetting_cast.ci),
            reason="CI review: confirm the passport",
            records=[record],
        )
    # Decryption failed, and both openings are on record all the same.
    assert Entry.objects.filter(subject=case.person_id, action="identity.unsealed").count() == 1
    assert Entry.objects.filter(subject=case.person_id, action="record.unsealed").count() == 1
    assert sorted(Opening.objects.filter(person=case.person).values_list("kind", flat=True)) == ["identity", "record"]


@pytest.mark.django_db(transaction=True)
def test_the_page_of_an_opening_does_not_read_the_history_the_pairs_or_the_decisions(
    submit: Submit, vetting_cast: Cast
) -> None:
    _case, answer, sql = _unseal_measured(submit, vetting_cast)
    assert answer.status_code == 200 and 'id="identity"' in answer.content.decode()
    reads = [q for q in sql if q.lstrip().upper().startswith("SELECT")]
    for table in (
        "audit_entry",
        "vetting_decision",
        "vetting_screeningflag",
        "vetting_screeninghit",
        "identity_blindindex",
    ):
        assert not [sql for sql in reads if f'FROM "{table}"' in sql], table


@pytest.mark.django_db(transaction=True)
def test_countries_are_named_in_the_readers_language(submit: Submit, vetting_cast: Cast) -> None:
    case = start(submit(legion="frl"), vetting_cast)
    client = signed_in(vetting_cast.ci)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"
    body = browser_post(client, _url(case, "vetting:unseal"), {"reason": "Перевірка паспорта"}).content.decode()
    assert "Російська Федерація" in body


@pytest.mark.django_db(transaction=True)
def test_next_of_kin_are_opened_separately_with_their_own_reason(submit: Submit, vetting_cast: Cast) -> None:
    case = start(submit(legion="frl"), vetting_cast)
    client = signed_in(vetting_cast.ci)
    refused = browser_post(client, _url(case, "vetting:next-of-kin"), {"reason": ""})
    assert refused.status_code == 400 and "Philomena" not in refused.content.decode()
    answer = browser_post(client, _url(case, "vetting:next-of-kin"), {"reason": "Contact the family: CI interview"})
    body = answer.content.decode()
    assert answer.status_code == 200 and "no-store" in answer["Cache-Control"]
    assert "<bdi>Philomena Xylographova</bdi>" in body and "Xylographov</bdi>" not in body.replace(
        "Philomena Xylographova</bdi>", ""
    )
    reasons = [
        json.loads(bytes(e.body))["details"]["reason"]
        for e in Entry.objects.filter(action="identity.unsealed", subject=case.person_id)
    ]
    assert reasons == ["Contact the family: CI interview"]


def test_an_investigator_may_not_open_next_of_kin_of_a_case_not_his(submit: Submit, make_staff: MakeStaff) -> None:
    case = submit()
    stranger = make_staff("ned-investigator", "investigator")
    answer = browser_post(signed_in(stranger), _url(case, "vetting:next-of-kin"), {"reason": "Just looking around"})
    assert answer.status_code == 404


def test_a_right_to_left_override_in_a_call_sign_stays_inside_its_isolate(submit: Submit, vetting_cast: Cast) -> None:
    case = submit(profile__preferred_call_sign="Wolf\u202egnirts")
    page = signed_in(vetting_cast.intake).get(_url(case), secure=True).content.decode()
    call_sign = Case.objects.get(pk=case.pk).person.call_sign
    assert f"<bdi>{call_sign}</bdi>" in page
    intake = signed_in(vetting_cast.intake).get("/intake/", secure=True).content.decode()
    assert f"<bdi>{call_sign}</bdi>" in intake


# --- flags ------------------------------------------------------------------------------------------


def _flagged(submit: Submit, cast: Cast) -> tuple[Case, Case]:
    earlier = submit(legion="frl")
    earlier = finish_checks(start(earlier, cast), cast)
    for adjudicator in cast.adjudicators[:2]:
        services.case_decide(case_id=earlier.pk, actor=adjudicator, outcome="approve", rationale=RATIONALE)
    again = submit(legion="frl")
    assert again.flagged
    return earlier, again


def _duplicates() -> dict[str, object]:
    out = StringIO()
    call_command("duplicates", "--json", stdout=out)
    data: dict[str, object] = json.loads(out.getvalue())
    return data


def test_the_ci_officer_sees_both_records_side_by_side(submit: Submit, vetting_cast: Cast) -> None:
    earlier, again = _flagged(submit, vetting_cast)
    page = signed_in(vetting_cast.ci).get(_url(again), secure=True).content.decode()
    flag = ScreeningFlag.objects.get(case=again)
    card = page.split(f'id="flag-{flag.pk}"')[1]
    assert earlier.person.call_sign in card and again.person.call_sign in card
    assert "Name and date of birth" in card or "Document number" in card
    assert 'data-state="approved"' in card and 'data-state="received"' in card
    assert f'id="flag-{flag.pk}-other-decision">Approve<' in card
    assert f'id="flag-form-{flag.pk}"' in card


def test_same_person_links_the_records_and_shows_the_earlier_decision(submit: Submit, vetting_cast: Cast) -> None:
    earlier, again = _flagged(submit, vetting_cast)
    flag = ScreeningFlag.objects.get(case=again)
    client = signed_in(vetting_cast.ci)
    answer = browser_post(
        client, _url(again, "vetting:flag-resolve", flag.pk), {"resolution": "same_person", "reason": ""}
    )
    assert answer.status_code == 302
    flag.refresh_from_db()
    assert flag.resolution == FlagResolution.SAME_PERSON and flag.resolved_by == vetting_cast.ci
    page = client.get(answer["Location"], secure=True).content.decode()
    assert "The two records are linked." in page and "Linked to" in page
    entry = Entry.objects.get(action="flag.resolved", subject=again.person_id)
    assert json.loads(bytes(entry.body))["details"]["resolution"] == "same_person"
    groups = _duplicates()["groups"]
    assert isinstance(groups, list)
    mine = [g for g in groups if again.person.external_ref in g["members"]]
    assert len(mine) == 1 and mine[0]["confirmed"] is True and earlier.person.external_ref in mine[0]["members"]


def test_different_people_needs_a_reason_is_sealed_and_drops_the_pair(submit: Submit, vetting_cast: Cast) -> None:
    earlier, again = _flagged(submit, vetting_cast)
    flag = ScreeningFlag.objects.get(case=again)
    client = signed_in(vetting_cast.ci)
    url = _url(again, "vetting:flag-resolve", flag.pk)
    refused = browser_post(client, url, {"resolution": "different_people", "reason": "no"})
    assert refused.status_code == 400 and re.search(r'value="different_people" checked', refused.content.decode())
    reason = "Different mothers' names; met both in interview."
    assert browser_post(client, url, {"resolution": "different_people", "reason": reason}).status_code == 302
    flag.refresh_from_db()
    assert flag.resolution == FlagResolution.DIFFERENT_PEOPLE
    assert flag.resolution_note is not None and reason.encode() not in bytes(flag.resolution_note.ciphertext)
    assert SealedRecord.objects.filter(kind="flag_resolution", person=again.person).count() == 1
    data = _duplicates()
    assert not any(again.person.external_ref in g["members"] for g in data["groups"])  # type: ignore[attr-defined]
    assert {"members": [again.person.external_ref, earlier.person.external_ref], "reasons": ["different_people"]} in (
        data["dismissed"]  # type: ignore[operator]
    )
    # Off the open-flags lists.
    from legionary.access.policy import staff_may
    from legionary.access.roles import Perm
    from legionary.vetting import work

    perms = frozenset(p for p in Perm if staff_may(vetting_cast.ci, p))
    flags = next(s for s in work.my_work(vetting_cast.ci, perms) if s.key == "flags")
    assert again.pk not in [i.case_id for i in flags.items]


def test_only_a_ci_officer_resolves_a_flag(submit: Submit, vetting_cast: Cast) -> None:
    _earlier, again = _flagged(submit, vetting_cast)
    flag = ScreeningFlag.objects.get(case=again)
    # The intake officer sees the case but has no RECORD_CHECK: refused by the access rule.
    answer = browser_post(
        signed_in(vetting_cast.intake), _url(again, "vetting:flag-resolve", flag.pk), {"resolution": "same_person"}
    )
    assert answer.status_code == 403
    flag.refresh_from_db()
    assert flag.resolution == ""


# --- history ----------------------------------------------------------------------------------------


def test_history_reads_as_translated_sentences_newest_first(submit: Submit, vetting_cast: Cast) -> None:
    case = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    with translation.override("en"):
        titles = [item.title for item in history.case_timeline(case)]
    assert titles[0].startswith("Checks assigned: Identity and document verification to ian-investigator")
    assert "Case assigned to ian-investigator as case officer" in titles
    assert "Application received" in titles
    with translation.override("uk"):
        ukrainian = [item.title for item in history.case_timeline(case)]
    assert "Case assigned to" not in " ".join(ukrainian) and "ian-investigator" in " ".join(ukrainian)
    assert all("." not in t.split(" ")[0] for t in ukrainian)  # no raw "case.assigned" names


def test_the_case_is_in_review_after_assignment(submit: Submit, vetting_cast: Cast) -> None:
    case = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    assert Case.objects.get(pk=case.pk).state == CaseState.IN_REVIEW


def test_a_refusal_is_said_in_the_readers_language(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    client = signed_in(vetting_cast.adjudicators[0])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"
    with translation.override("en"):
        data = {"outcome": "approve", "rationale": "коротко", "version": case.version}
        answer = browser_post(client, _url(case, "vetting:decide"), data)
    assert answer.status_code == 400
    assert "Напишіть обґрунтування рішення" in answer.content.decode()
