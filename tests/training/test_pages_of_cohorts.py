"""The cohort list, the API's cohorts and a cohort's enrolments come in keyset pages."""

from __future__ import annotations

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
