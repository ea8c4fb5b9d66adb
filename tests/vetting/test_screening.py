"""Designation and sanctions screening against the shipped fictional list, without decrypting."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

import legionary.vetting
from legionary.audit.models import Entry
from legionary.intake.schema import validate_application
from legionary.intake.services import Channel, application_submit, applications_import_batch, receipt_status
from legionary.vetting import screening, services
from legionary.vetting.models import CaseState, CheckResult, Outcome, ScreeningEntry, ScreeningHit, ScreeningToken
from tests.intake.helpers import application
from tests.vetting.conftest import RATIONALE, Cast, Submit, finish_checks, start

pytestmark = pytest.mark.django_db

FIXTURE = Path(legionary.vetting.__file__).parent / "fixtures" / "screening-example.ftm.json"


def _load() -> screening.ListLoad:
    with FIXTURE.open(encoding="utf-8") as lines:
        return screening.screening_list_load(name="example", lines=lines, actor_name="test")


def test_loading_keeps_people_only_and_stores_no_names() -> None:
    loaded = _load()
    assert (loaded.entries, loaded.skipped) == (13, 1)
    assert ScreeningToken.objects.count() > 13 * 2
    for value in ScreeningToken.objects.values_list("value", flat=True):
        assert len(bytes(value)) == 4  # truncated HMACs, not names
    assert Entry.objects.filter(action="screening.list_loaded").count() == 1


def test_reloading_a_list_replaces_it() -> None:
    _load()
    tokens = ScreeningToken.objects.count()
    _load()
    assert ScreeningEntry.objects.count() == 13 and ScreeningToken.objects.count() == tokens


def test_an_applicant_on_the_list_opens_a_ci_check_with_the_entry(submit: Submit, vetting_cast: Cast) -> None:
    _load()
    case = start(
        submit(
            identity__given_names="Ottokar", identity__family_name="Imaginarov", identity__date_of_birth="1979-10-05"
        ),
        vetting_cast,
    )
    hit = case.checks.get(opened_by="screening")
    assert hit.check_type.is_ci_review and hit.screening_entry is not None
    assert hit.screening_entry.entry_id == "fict-0002"
    assert case.checks.get(check_type_id="sanctions").result == CheckResult.CONCERN
    entry = Entry.objects.get(action="screening.list_hit", subject=case.person_id)
    assert b"fict-0002" in bytes(entry.body) and b"Imaginarov" not in bytes(entry.body)


def test_a_transliterated_alias_still_hits(submit: Submit, vetting_cast: Cast) -> None:
    _load()
    case = start(
        submit(
            identity__given_names="Квазимир", identity__family_name="Семплетон", identity__date_of_birth="1975-12-24"
        ),
        vetting_cast,
    )
    assert case.checks.get(opened_by="screening").screening_entry.entry_id == "fict-0005"  # type: ignore[union-attr]


def test_a_next_of_kin_on_the_list_hits(submit: Submit, vetting_cast: Cast) -> None:
    _load()
    kin = [{"name": "Drozdulya Vymyshlenova", "relation": "sister"}]
    case = start(submit(identity__next_of_kin=kin), vetting_cast)
    assert case.checks.get(opened_by="screening").screening_entry.entry_id == "fict-0006"  # type: ignore[union-attr]
    assert b"next_of_kin" in bytes(Entry.objects.get(action="screening.list_hit").body)


def test_an_applicant_not_on_the_list_is_clear(submit: Submit, vetting_cast: Cast) -> None:
    _load()
    # Born the same day as a listed person, but another name.
    case = start(submit(), vetting_cast)
    assert not case.checks.filter(opened_by="screening").exists()
    assert case.checks.get(check_type_id="sanctions").result == CheckResult.CLEAR


def test_loading_a_list_later_screens_open_cases_and_reopens_them(submit: Submit, vetting_cast: Cast) -> None:
    case = start(
        submit(
            identity__given_names="Fantomas", identity__family_name="Nebylitsyn", identity__date_of_birth="1985-09-09"
        ),
        vetting_cast,
    )
    case = finish_checks(case, vetting_cast)
    assert case.state == CaseState.AWAITING_DECISION
    assert _load().hits == 1
    case.refresh_from_db()
    assert case.state == CaseState.IN_REVIEW
    assert case.checks.get(opened_by="screening").screening_entry.entry_id == "fict-0009"  # type: ignore[union-attr]


def test_the_command_loads_the_shipped_list() -> None:
    out = io.StringIO()
    call_command("screening", "load", str(FIXTURE), stdout=out)
    assert "13 people" in out.getvalue() and ScreeningEntry.objects.count() == 13


def test_a_broken_line_is_refused_with_its_number(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "a", "schema": "Person", "properties": {"name": ["A B"]}}\nnot json\n', encoding="utf-8")
    with pytest.raises(screening.ScreeningError, match="Line 2"):
        with bad.open(encoding="utf-8") as lines:
            screening.screening_list_load(name="bad", lines=lines, actor_name="test")


# --- lists written the way published lists write Russian names --------------------------------------


def _write_list(tmp_path: Path, *entities: dict[str, Any], name: str = "designations") -> Path:
    path = tmp_path / f"{name}.ftm.json"
    path.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in entities) + "\n", encoding="utf-8")
    return path


def _load_file(path: Path, name: str = "designations") -> screening.ListLoad:
    with path.open(encoding="utf-8") as lines:
        return screening.screening_list_load(name=name, lines=lines, actor_name="test")


def _person(entity_id: str, **properties: list[str]) -> dict[str, Any]:
    return {"id": entity_id, "schema": "Person", "properties": properties}


NOSOV = {
    "identity__given_names": "Timur",
    "identity__family_name": "Nosov",
    "identity__patronymic": "Mikhailovich",
    "identity__date_of_birth": "1975-04-12",
    "identity__documents": [{"kind": "passport", "country": "RU", "number": "75 1234567"}],
}

WAYS = [
    _person("w-caps", name=["NOSOV Timur Mikhailovich"], birthDate=["1975-04-12"]),
    _person("w-comma", name=["Nosov, Timur Mikhailovich"], birthDate=["1975-04-12"]),
    _person("w-given-first", name=["Timur Mikhaylovich Nosov"], birthDate=["1975-04-12"]),
    _person("w-no-patronymic", name=["Timur Nosov"], birthDate=["1975-04-12"]),
    _person("w-year", name=["NOSOV Timur Mikhailovich"], birthDate=["1975"]),
    _person("w-month", name=["NOSOV Timur Mikhailovich"], birthDate=["1975-04"]),
    _person(
        "w-cyrillic-alias", name=["Unrelated Placeholder"], alias=["Носов Тимур Михайлович"], birthDate=["1975-04-12"]
    ),
    _person("w-parts", firstName=["Timur"], fatherName=["Mikhailovich"], lastName=["NOSOV"], birthDate=["1975-04-12"]),
    _person("w-document", name=["Unrelated Placeholder"], passportNumber=["751234567"]),
]
DECOYS = [
    _person("d-other-day", name=["NOSOV Timur Mikhailovich"], birthDate=["1975-04-13"]),
    _person("d-other-year", name=["NOSOV Timur Mikhailovich"], birthDate=["1976"]),
    _person("d-other-month", name=["NOSOV Timur Mikhailovich"], birthDate=["1975-05"]),
]
# The same name and day with another patronymic: for a person to look at, never a match.
OTHER_PATRONYMIC = _person("p-other-patronymic", name=["NOSOV Timur Sergeyevich"], birthDate=["1975-04-12"])


def _hit_entries(case: Any) -> dict[str, str]:
    return dict(ScreeningHit.objects.filter(person_id=case.person_id).values_list("entry__entry_id", "strength"))


def test_a_list_loaded_first_catches_an_applicant_written_every_way_on_arrival(submit: Submit, tmp_path: Path) -> None:
    _load_file(_write_list(tmp_path, *WAYS, *DECOYS, OTHER_PATRONYMIC))
    case = submit(**NOSOV)
    assert _hit_entries(case) == {**{entity["id"]: "match" for entity in WAYS}, "p-other-patronymic": "possible"}
    case.refresh_from_db()
    assert case.flagged and case.state == CaseState.RECEIVED
    assert not case.checks.exists()  # nothing moves before vetting starts: the applicant learns nothing
    assert Entry.objects.filter(action="screening.list_hit", subject=case.person_id).count() == 1


def test_applications_first_then_the_list_catches_them_all_and_no_decoy(submit: Submit, tmp_path: Path) -> None:
    case = submit(**NOSOV)
    other = submit()
    loaded = _load_file(_write_list(tmp_path, *WAYS, *DECOYS))
    assert loaded.hits == len(WAYS)
    assert _hit_entries(case) == {entity["id"]: "match" for entity in WAYS}
    assert not _hit_entries(other)


def test_an_approved_person_designated_after_approval_is_hit_and_flagged_but_stays_approved(
    submit: Submit, vetting_cast: Cast, tmp_path: Path
) -> None:
    case = finish_checks(start(submit(**NOSOV), vetting_cast), vetting_cast)
    for adjudicator in vetting_cast.adjudicators[:2]:
        services.case_decide(
            case_id=case.pk,
            actor=adjudicator,
            outcome=Outcome.APPROVE,
            rationale=RATIONALE,
            factors={"nature": "Minor.", "recurrence": "Unlikely."},
        )
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED and not ScreeningHit.objects.exists()
    _load_file(_write_list(tmp_path, WAYS[0]))
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED and case.flagged
    assert [(h.strength, h.state, h.via) for h in ScreeningHit.objects.filter(person_id=case.person_id)] == [
        ("match", "open", "applicant")
    ]


def test_an_import_batch_is_screened_on_arrival(tmp_path: Path) -> None:
    _load_file(_write_list(tmp_path, WAYS[0]))
    batch = [validate_application(application(external_ref=f"b-{n}", **(NOSOV if n == 1 else {}))) for n in range(3)]
    applications_import_batch(applications=batch)
    assert list(ScreeningHit.objects.values_list("person__external_ref", "entry__entry_id")) == [("b-1", "w-caps")]


def test_a_next_of_kin_on_the_list_is_hit_on_arrival(submit: Submit, tmp_path: Path) -> None:
    _load_file(_write_list(tmp_path, _person("kin", name=["NOSOVA Anfisa Petrovna"])))
    case = submit(identity__next_of_kin=[{"name": "Anfisa Nosova", "relation": "mother"}])
    assert list(ScreeningHit.objects.values_list("person_id", "via")) == [(case.person_id, "next_of_kin")]


def test_a_name_two_edits_apart_is_a_possible_hit_that_opens_no_ci_check(
    submit: Submit, vetting_cast: Cast, tmp_path: Path
) -> None:
    _load_file(_write_list(tmp_path, _person("typo", name=["DROZZDOVSKY Timur"], birthDate=["1975-04-12"])))
    case = start(submit(**{**NOSOV, "identity__family_name": "Dorzdovskii"}), vetting_cast)
    assert _hit_entries(case) == {"typo": "possible"}
    assert not case.checks.filter(opened_by="screening").exists()
    assert case.checks.get(check_type_id="sanctions").result == CheckResult.CLEAR


def test_reloading_a_list_keeps_the_hits_of_entries_still_listed_and_adds_no_duplicate(
    submit: Submit, tmp_path: Path
) -> None:
    path = _write_list(tmp_path, *WAYS[:2])
    _load_file(path)
    submit(**NOSOV)
    assert _load_file(path).hits == 0
    assert ScreeningHit.objects.count() == 2
    _load_file(_write_list(tmp_path, WAYS[0]))
    assert list(ScreeningHit.objects.values_list("entry__entry_id", flat=True)) == ["w-caps"]


def test_a_ci_officer_resolves_a_hit_and_another_role_is_refused(
    submit: Submit, vetting_cast: Cast, tmp_path: Path
) -> None:
    _load_file(_write_list(tmp_path, WAYS[0]))
    submit(**NOSOV)
    hit = ScreeningHit.objects.get()
    with pytest.raises(screening.ScreeningError, match="no such screening hit"):
        screening.screening_hit_resolve(hit_id=hit.pk, actor=vetting_cast.investigator)
    screening.screening_hit_resolve(hit_id=hit.pk, actor=vetting_cast.ci)
    hit.refresh_from_db()
    assert hit.state == "resolved" and hit.resolved_by == vetting_cast.ci
    assert Entry.objects.filter(action="screening.hit_resolved", subject=hit.person_id).exists()


def test_hits_for_a_person_gives_plain_values_for_the_flag_page(submit: Submit, tmp_path: Path) -> None:
    _load_file(_write_list(tmp_path, WAYS[0], WAYS[-1]))
    case = submit(**NOSOV)
    rows = screening.hits_for_person(case.person_id)
    assert [(r.member, r.list, r.entry, r.via, r.strength, r.state) for r in rows] == [
        (case.person.external_ref, "designations", "w-caps", "applicant", "match", "open"),
        (case.person.external_ref, "designations", "w-document", "applicant", "match", "open"),
    ]


# --- the commands ------------------------------------------------------------------------------------


def test_screening_hits_json_is_the_contracts_document(submit: Submit, tmp_path: Path) -> None:
    call_command(
        "screening", "load", str(_write_list(tmp_path, WAYS[0])), "--name", "Sanctions 2026", stdout=io.StringIO()
    )
    case = submit(**NOSOV)
    out = io.StringIO()
    call_command("screening", "hits", "--json", stdout=out)
    # Written hit by hit, and still one document exactly as ``json.dumps`` writes it.
    assert out.getvalue() == json.dumps(json.loads(out.getvalue()), ensure_ascii=False) + "\n"
    assert json.loads(out.getvalue()) == {
        "hits": [
            {
                "member": case.person.external_ref,
                "list": "Sanctions 2026",
                "entry": "w-caps",
                "via": "applicant",
                "strength": "match",
                "state": "open",
            }
        ]
    }
    human = io.StringIO()
    call_command("screening", "hits", stdout=human)
    assert "w-caps" in human.getvalue() and "Timur" not in human.getvalue() and "1 screening hits" in human.getvalue()


def test_loading_prints_counts_and_never_a_name(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("screening", "load", str(_write_list(tmp_path, *WAYS)), stdout=out)
    assert "9 people" in out.getvalue() and "Nosov" not in out.getvalue() and "NOSOV" not in out.getvalue()


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "Line 2 is not JSON"),
        ('{"schema": "Person"}', "Line 2 is not a FollowTheMoney entity: it has no id"),
    ],
)
def test_a_malformed_file_exits_2_naming_the_line_and_keeps_nothing(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(WAYS[0]) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match=reason) as raised:
        call_command("screening", "load", str(path))
    assert raised.value.returncode == 2
    assert not ScreeningEntry.objects.exists()


def test_a_bad_line_after_whole_chunks_were_stored_still_keeps_nothing(tmp_path: Path) -> None:
    _load_file(_write_list(tmp_path, WAYS[0]))
    many = [_person(f"m-{n}", name=[f"Placeholder{n:04d} Person"], birthDate=["1980"]) for n in range(600)]
    path = _write_list(tmp_path, *many, name="big")
    with path.open("a", encoding="utf-8") as out:
        out.write("not json\n")
    with pytest.raises(screening.ScreeningError, match="Line 601 is not JSON"):
        _load_file(path, name="designations")
    # the earlier load of the same list stands untouched
    assert list(ScreeningEntry.objects.values_list("entry_id", flat=True)) == ["w-caps"]
    assert ScreeningToken.objects.filter(entry__entry_id="w-caps").exists()


def test_a_listed_applicant_through_the_public_form_sees_only_received_on_his_status_page(tmp_path: Path) -> None:
    _load_file(_write_list(tmp_path, WAYS[0]))
    submission = application_submit(
        application=validate_application(application(external_ref=None, **NOSOV)), channel=Channel.FORM
    )
    assert submission.receipt is not None
    assert ScreeningHit.objects.filter(person_id=submission.person.id, strength="match").exists()
    assert receipt_status(receipt=submission.receipt, client_address="192.0.2.7") == "received"


def test_a_list_that_is_not_utf8_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"id": "x", "schema": "Person", "properties": {"name": ["Jos\u00e9"]}}\n'.encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8") as raised:
        call_command("screening", "load", str(path))
    assert raised.value.returncode == 2 and not ScreeningEntry.objects.exists()
