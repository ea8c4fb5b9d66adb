"""The cohort list, the API's cohorts and a cohort's enrolments come in keyset pages."""

from __future__ import annotations

import re

import pytest

from legionary.training import api, selectors, services
from tests.conftest import signed_in
from tests.training.conftest import START, Training, enrol


def test_the_api_cohorts_page_through_every_cohort_newest_first(
    training: Training, monkeypatch: pytest.MonkeyPatch
) -> None:
    services.cohort_create(
        actor=training.admin, course_id=training.course.pk, name="Summer", legion="frl", start_date=START, site="X"
    )
    monkeypatch.setattr(selectors, "COHORT_PAGE", 2)
    client = signed_in(training.admin)
    first = client.get("/api/v1/training/cohorts", secure=True).json()
    second = client.get("/api/v1/training/cohorts", {"after": first["next"]}, secure=True).json()
    names = [c["name"] for c in first["cohorts"] + second["cohorts"]]
    assert len(first["cohorts"]) == 2 and second["next"] is None
    assert sorted(names) == ["Spring A", "Spring B", "Summer"]
    assert client.get("/training/?after=nope", secure=True).status_code == 400
    bad = client.get("/api/v1/training/cohorts", {"after": "nope"}, secure=True)
    assert bad.status_code == 400


def test_the_api_enrolments_page_through_the_cohort_by_call_sign(
    training: Training, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("Zaza", "Alpha", "Miami"):
        enrol(training, name)
    monkeypatch.setattr(api, "ENROLMENTS_PAGE", 2)
    client = signed_in(training.admin)
    url = f"/api/v1/training/cohorts/{training.cohort.pk}/enrolments"
    first = client.get(url, secure=True).json()
    second = client.get(url, {"after": first["next"]}, secure=True).json()
    assert [e["call_sign"] for e in first["enrolments"]] == ["Alpha", "Miami"]
    assert [e["call_sign"] for e in second["enrolments"]] == ["Zaza"] and second["next"] is None


def test_the_cohort_list_filters_by_legion_and_lead_and_keeps_the_filters_on_its_pages(
    training: Training, monkeypatch: pytest.MonkeyPatch
) -> None:
    georgian = services.cohort_create(
        actor=training.admin, course_id=training.course.pk, name="Tbilisi", legion="geo", start_date=START, site="X"
    )
    client = signed_in(training.admin)
    geo = client.get("/training/", {"legion": "geo"}, secure=True).content.decode()
    assert f'id="cohort-{georgian.pk}"' in geo and f'id="cohort-{training.cohort.pk}"' not in geo
    assert "Legion: Georgian Legion" in geo.split('class="moj-filter-tags"')[1]
    nobody = client.get("/training/", {"lead": "none"}, secure=True).content.decode()
    assert f'id="cohort-{georgian.pk}"' in nobody and f'id="cohort-{training.cohort.pk}"' not in nobody
    mine = signed_in(training.lead).get("/training/", {"lead": "me"}, secure=True).content.decode()
    assert f'id="cohort-{training.cohort.pk}"' in mine and f'id="cohort-{training.other_cohort.pk}"' not in mine
    # Pages keep the filters: two frl cohorts, one a page.
    monkeypatch.setattr(selectors, "COHORT_PAGE", 1)
    first = client.get("/training/", {"legion": "frl"}, secure=True).content.decode()
    # The next link's address (a cursor's length varies with the ids, so read the attribute itself).
    link = re.search(r'href="([^"]*)"[^>]*rel="next" id="next-page"', first).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert link.startswith("/training/?legion=frl&after=")
    second = client.get(link, secure=True).content.decode()
    assert 'id="previous-page"' in second and "Tbilisi" not in second


def test_a_cohort_filter_outside_the_instructors_scope_is_refused_on_the_page(training: Training) -> None:
    client = signed_in(training.instructor)  # one frl cohort
    answer = client.get("/training/", {"legion": "geo"}, secure=True)
    page = answer.content.decode()
    assert answer.status_code == 400 and "Choose one of the legions you work on." in page
    assert 'id="cohort-' not in page and 'id="filter-refused"' in page
    assert client.get("/training/", {"lead": "someone"}, secure=True).status_code == 400
