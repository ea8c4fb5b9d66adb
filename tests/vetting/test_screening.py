"""Designation and sanctions screening against the shipped fictional list, without decrypting."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

import legionary.vetting
from legionary.audit.models import Entry
from legionary.vetting import services
from legionary.vetting.models import CaseState, CheckResult, ScreeningEntry, ScreeningToken
from tests.vetting.conftest import Cast, Submit, finish_checks, start

pytestmark = pytest.mark.django_db

FIXTURE = Path(legionary.vetting.__file__).parent / "fixtures" / "screening-example.ftm.json"


def _load() -> services.ListLoad:
    with FIXTURE.open(encoding="utf-8") as lines:
        return services.screening_list_load(name="example", lines=lines, actor_name="test")


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
    with pytest.raises(services.VettingError, match="Line 2"):
        with bad.open(encoding="utf-8") as lines:
            services.screening_list_load(name="bad", lines=lines, actor_name="test")
