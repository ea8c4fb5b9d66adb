"""The CI officer's flag page: both tiers of duplicates labelled and resolvable, and the list hits."""

from __future__ import annotations

import html
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from legionary.access.policy import staff_may
from legionary.access.roles import Perm
from legionary.audit.models import Entry
from legionary.vetting import screening, services, work
from legionary.vetting.models import Case, FlagResolution, ScreeningFlag, ScreeningHit
from legionary.vetting.selectors import open_possible_pairs
from tests.conftest import signed_in
from tests.vetting.conftest import NOW, Cast, Submit, browser_post, reapplied, start

REASON = "Met both in interview; different mothers and schools."


def _possible_pair(submit: Submit, cast: Cast) -> tuple[Case, Case]:
    """Two applicants with the same birth date, patronymic and birthplace under another name; the
    second case's counter-intelligence review assigned to the CI officer (so he sees the case)."""
    first = submit()
    again = start(reapplied(submit), cast)
    review = again.checks.get(check_type__is_ci_review=True)
    services.check_assign(check_id=review.pk, assignee=cast.ci, actor=cast.intake, now=NOW)
    return first, again


def _duplicates() -> dict[str, Any]:
    out = StringIO()
    call_command("duplicates", "--json", stdout=out)
    data: dict[str, Any] = json.loads(out.getvalue())
    return data


def _pair(first: Case, again: Case) -> set[str]:
    return {first.person.external_ref or "", again.person.external_ref or ""}


def _page(who: Any, case: Case) -> str:
    return str(signed_in(who).get(reverse("vetting:case", args=[case.pk]), secure=True).content.decode())


def _possible_url(case: Case, other: Case) -> str:
    return reverse("vetting:possible-resolve", args=[case.pk, other.person_id])


# --- the possible tier --------------------------------------------------------------------------------


def test_the_ci_officer_sees_a_possible_pair_labelled_with_its_reasons_in_plain_words(
    submit: Submit, vetting_cast: Cast
) -> None:
    first, again = _possible_pair(submit, vetting_cast)
    page = _page(vetting_cast.ci, again)
    card = page.split(f'id="possible-{first.person_id}"')[1].split("</form>")[0]
    assert 'data-tier="possible"' in page and "Possible — check by hand" in card
    assert "same date of birth and patronymic, different name" in card
    assert "same date of birth and place of birth, different name" in card
    assert first.person.call_sign in card and again.person.call_sign in card
    assert f'id="possible-form-{first.person_id}"' in card
    # Never merged by itself: a possible pair, not a group.
    data = _duplicates()
    assert any(set(p["members"]) == _pair(first, again) for p in data["possible"])
    assert not any(again.person.external_ref in g["members"] for g in data["groups"])


def test_the_possible_tier_and_the_hits_are_not_shown_to_other_roles(submit: Submit, vetting_cast: Cast) -> None:
    first, again = _possible_pair(submit, vetting_cast)
    page = _page(vetting_cast.intake, again)
    assert 'id="case-state"' in page  # he sees the case itself
    assert f"possible-{first.person_id}" not in page and "check by hand" not in page and 'id="hits"' not in page


def test_a_possible_pair_concluded_different_people_leaves_the_possible_list(
    submit: Submit, vetting_cast: Cast
) -> None:
    first, again = _possible_pair(submit, vetting_cast)
    client = signed_in(vetting_cast.ci)
    answer = browser_post(client, _possible_url(again, first), {"resolution": "different_people", "reason": REASON})
    assert answer.status_code == 302
    flag = ScreeningFlag.objects.get(case=again, matched_person=first.person)
    assert flag.resolution == FlagResolution.DIFFERENT_PEOPLE and flag.resolved_by == vetting_cast.ci
    assert flag.matched_status == ""  # a stranger: never counted as a re-application after a denial
    assert flag.resolution_note is not None and REASON.encode() not in bytes(flag.resolution_note.ciphertext)
    entry = Entry.objects.get(action="flag.resolved", subject=again.person_id)
    details = json.loads(bytes(entry.body))["details"]
    assert details["resolution"] == "different_people" and "patronymic+birth_date" in details["reasons"]
    data = _duplicates()
    assert not any(set(p["members"]) == _pair(first, again) for p in data["possible"])
    assert any(set(p["members"]) == _pair(first, again) for p in data["dismissed"])
    # The page shows the conclusion as a possible-tier card, the open form gone; from the other side too.
    page = client.get(answer["Location"], secure=True).content.decode()
    assert f'id="flag-{flag.pk}" data-tier="possible"' in page and f"possible-form-{first.person_id}" not in page
    card = page.split(f'id="flag-{flag.pk}"')[1].split("</table>")[0]
    assert "Possible — check by hand" in card and "Different people" in card and "The other record" in card
    assert "same date of birth and patronymic, different name" in card
    assert f"possible-form-{again.person_id}" not in _page(vetting_cast.ci, first)
    again.refresh_from_db()
    assert not again.flagged


def test_a_possible_pair_concluded_the_same_person_is_linked_and_leaves_the_possible_list(
    submit: Submit, vetting_cast: Cast
) -> None:
    first, again = _possible_pair(submit, vetting_cast)
    answer = browser_post(signed_in(vetting_cast.ci), _possible_url(again, first), {"resolution": "same_person"})
    assert answer.status_code == 302
    data = _duplicates()
    assert not any(set(p["members"]) == _pair(first, again) for p in data["possible"])
    mine = [g for g in data["groups"] if again.person.external_ref in g["members"]]
    assert len(mine) == 1 and mine[0]["confirmed"] is True and first.person.external_ref in mine[0]["members"]


def test_a_refused_conclusion_on_a_possible_pair_stores_nothing_and_keeps_what_was_typed(
    submit: Submit, vetting_cast: Cast
) -> None:
    first, again = _possible_pair(submit, vetting_cast)
    client = signed_in(vetting_cast.ci)
    answer = browser_post(client, _possible_url(again, first), {"resolution": "different_people", "reason": "no"})
    assert answer.status_code == 400
    kept = f'id="possible-{first.person_id}-different_people" name="resolution" type="radio"'
    assert f'{kept} value="different_people" checked' in answer.content.decode()
    assert not ScreeningFlag.objects.exists() and not Entry.objects.filter(action="flag.resolved").exists()
    # A pair screening never proposed is no such pair.
    stranger = submit(
        identity__given_names="Other", identity__family_name="Person", identity__date_of_birth="1970-01-02"
    )
    refused = browser_post(client, _possible_url(again, stranger), {"resolution": "same_person"})
    assert refused.status_code == 404 and not ScreeningFlag.objects.exists()


@pytest.mark.parametrize("role", ["intake", "investigator"])
def test_only_a_ci_officer_concludes_on_a_possible_pair(submit: Submit, vetting_cast: Cast, role: str) -> None:
    first, again = _possible_pair(submit, vetting_cast)
    who = getattr(vetting_cast, role)
    answer = browser_post(signed_in(who), _possible_url(again, first), {"resolution": "same_person"})
    assert answer.status_code in (403, 404)
    if role == "intake":  # no RECORD_CHECK at all: the access rule refuses before anything is read
        assert answer.status_code == 403
    assert not ScreeningFlag.objects.exists()


# --- a case whose only finding is a possible pair reaches the CI officer ------------------------------


def _possible_only(submit: Submit) -> tuple[Case, Case]:
    """A possible pair and nothing else: no match-tier flag, no list hit, no CI review of anyone's."""
    first = submit()
    again = reapplied(submit)
    assert not again.checks.exists() and not ScreeningHit.objects.exists()
    return first, again


def _possible_section(who: Any) -> work.WorkSection | None:
    perms = frozenset(p for p in Perm if staff_may(who, p))
    return next((s for s in work.my_work(who, perms) if s.key == "possible-duplicates"), None)


def test_a_case_whose_only_finding_is_a_possible_pair_is_on_the_ci_officers_my_work(
    submit: Submit, vetting_cast: Cast
) -> None:
    first, again = _possible_only(submit)
    assert Case.objects.get(pk=again.pk).possible == "open"
    section = _possible_section(vetting_cast.ci)
    assert section is not None and [(i.case_id, i.note) for i in section.items] == [(again.pk, "possible")]
    assert section.count == 1
    # Audited on arrival by ids and reason names only.
    entry = Entry.objects.get(action="screening.possible", subject=again.person_id)
    details = json.loads(bytes(entry.body))["details"]
    assert details["matched"] == [first.person_id] and "patronymic+birth_date" in details["reasons"]
    # On the page he lands on, labelled, linked to the pair on the case page, which he may now open.
    client = signed_in(vetting_cast.ci)
    page = client.get("/work/", secure=True).content.decode()
    row = page.split('id="work-possible-duplicates"')[1].split("</section>")[0]
    assert f'href="/cases/{again.pk}/#flags"' in row and "Possible duplicate, to review" in row
    case_page = _page(vetting_cast.ci, again)
    assert f'id="possible-form-{first.person_id}"' in case_page
    # Other roles have no such section (the possible tier is counter-intelligence's).
    assert _possible_section(vetting_cast.intake) is None and _possible_section(vetting_cast.investigator) is None


@pytest.mark.parametrize("resolution", ["different_people", "same_person"])
def test_a_concluded_possible_pair_leaves_the_ci_officers_my_work(
    submit: Submit, vetting_cast: Cast, resolution: str
) -> None:
    first, again = _possible_only(submit)
    client = signed_in(vetting_cast.ci)
    answer = browser_post(client, _possible_url(again, first), {"resolution": resolution, "reason": REASON})
    assert answer.status_code == 302
    assert Case.objects.get(pk=again.pk).possible == "concluded"
    section = _possible_section(vetting_cast.ci)
    assert section is not None and section.items == [] and section.count == 0
    # The case he concluded on stays his to see, with his conclusion on it.
    assert client.get(answer["Location"], secure=True).status_code == 200


def test_a_case_with_a_possible_pair_left_stays_on_my_work_until_the_last_is_concluded(
    submit: Submit, vetting_cast: Cast
) -> None:
    first, again = _possible_only(submit)
    # A third record the newest pairs with as well (same birth date and birthplace, another name).
    third = reapplied(submit, given_names="Pavel", family_name="Orlov")
    assert Case.objects.get(pk=third.pk).possible == "open"
    assert {first.person_id, again.person_id} <= {other for other, _ in open_possible_pairs(third.person_id)}
    client = signed_in(vetting_cast.ci)

    def listed() -> list[int]:
        section = _possible_section(vetting_cast.ci)
        assert section is not None
        return [i.case_id for i in section.items]

    browser_post(client, _possible_url(third, first), {"resolution": "different_people", "reason": REASON})
    assert third.pk in listed()
    browser_post(client, _possible_url(third, again), {"resolution": "different_people", "reason": REASON})
    assert third.pk not in listed()


# --- designation and sanctions lists ----------------------------------------------------------------


NOSOV = {
    "identity__given_names": "Timur",
    "identity__family_name": "Nosov",
    "identity__patronymic": "Mikhailovich",
    "identity__date_of_birth": "1975-04-12",
}


def _listed(submit: Submit, tmp_path: Path) -> tuple[Case, ScreeningHit]:
    path = tmp_path / "designations.ftm.json"
    entity = {
        "id": "w-caps",
        "schema": "Person",
        "properties": {"name": ["NOSOV Timur Mikhailovich"], "birthDate": ["1975-04-12"]},
    }
    path.write_text(json.dumps(entity) + "\n", encoding="utf-8")
    with path.open(encoding="utf-8") as lines:
        screening.screening_list_load(name="designations", lines=lines, actor_name="test")
    case = submit(**NOSOV)
    return case, ScreeningHit.objects.get(person_id=case.person_id)


def _hits_section(who: Any) -> work.WorkSection | None:
    perms = frozenset(p for p in Perm if staff_may(who, p))
    return next((s for s in work.my_work(who, perms) if s.key == "list-hits"), None)


def test_a_hit_is_shown_to_the_ci_officer_with_its_list_entry_via_and_strength(
    submit: Submit, vetting_cast: Cast, tmp_path: Path
) -> None:
    case, hit = _listed(submit, tmp_path)
    row = _page(vetting_cast.ci, case).split(f'id="hit-{hit.pk}"')[1].split("</tr>")[0]
    assert "designations" in row and "w-caps" in row
    assert "Applicant" in row and "Match" in row and "Open" in row and f'id="hit-resolve-{hit.pk}"' in row
    section = _hits_section(vetting_cast.ci)
    assert section is not None
    assert [(i.case_id, i.row, i.note) for i in section.items] == [(case.pk, f"hit-{hit.pk}", "list-match")]
    assert "designations" in section.items[0].what and "w-caps" in section.items[0].what
    assert _hits_section(vetting_cast.investigator) is None


def test_a_ci_officer_resolves_a_hit_from_the_case_page(submit: Submit, vetting_cast: Cast, tmp_path: Path) -> None:
    case, hit = _listed(submit, tmp_path)
    client = signed_in(vetting_cast.ci)
    answer = browser_post(client, reverse("vetting:hit-resolve", args=[case.pk, hit.pk]), {})
    assert answer.status_code == 302
    hit.refresh_from_db()
    assert hit.state == "resolved" and hit.resolved_by == vetting_cast.ci
    assert Entry.objects.filter(action="screening.hit_resolved", subject=case.person_id).count() == 1
    page = client.get(answer["Location"], secure=True).content.decode()
    assert 'data-state="resolved"' in page and f'id="hit-resolve-{hit.pk}"' not in page
    section = _hits_section(vetting_cast.ci)
    assert section is not None and section.items == []


@pytest.mark.parametrize("role", ["intake", "investigator"])
def test_only_a_ci_officer_resolves_a_hit(submit: Submit, vetting_cast: Cast, tmp_path: Path, role: str) -> None:
    case, hit = _listed(submit, tmp_path)
    answer = browser_post(
        signed_in(getattr(vetting_cast, role)), reverse("vetting:hit-resolve", args=[case.pk, hit.pk]), {}
    )
    assert answer.status_code in (403, 404)
    if role == "intake":
        assert answer.status_code == 403
    hit.refresh_from_db()
    assert hit.state == "open" and not Entry.objects.filter(action="screening.hit_resolved").exists()


def test_a_hit_of_another_persons_case_is_not_resolved_through_this_case(
    submit: Submit, vetting_cast: Cast, tmp_path: Path
) -> None:
    _case, hit = _listed(submit, tmp_path)
    other = submit()
    answer = browser_post(signed_in(vetting_cast.ci), reverse("vetting:hit-resolve", args=[other.pk, hit.pk]), {})
    assert answer.status_code == 404
    hit.refresh_from_db()
    assert hit.state == "open"


@pytest.mark.parametrize(
    ("lang", "tag", "reason", "heading"),
    [
        (
            "uk",
            "Можливий — перевірте вручну",
            "та сама дата народження й по батькові, інше ім’я",
            "Перевірка за списками",
        ),
        ("ru", "Возможный — проверьте вручную", "та же дата рождения и отчество, другое имя", "Проверка по спискам"),
    ],
)
def test_the_tiers_and_the_hits_read_in_the_staff_members_language(
    submit: Submit, vetting_cast: Cast, tmp_path: Path, lang: str, tag: str, reason: str, heading: str
) -> None:
    first, again = _possible_pair(submit, vetting_cast)
    case, _hit = _listed(submit, tmp_path)
    client = signed_in(vetting_cast.ci)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    page = client.get(reverse("vetting:case", args=[again.pk]), secure=True).content.decode()
    card = page.split(f'id="possible-{first.person_id}"')[1].split("</form>")[0]
    assert tag in card and html.escape(reason) in card
    hits = client.get(reverse("vetting:case", args=[case.pk]), secure=True).content.decode()
    assert heading in hits.split('id="hits"')[1]
