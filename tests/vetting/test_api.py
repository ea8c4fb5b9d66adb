"""The vetting API: access marks, scope, CSRF, the two-person rule and the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from django.conf import settings
from django.test import Client

from legionary.access.policy import access_rule
from legionary.vetting.models import Case
from tests.conftest import signed_in
from tests.routes import all_routes
from tests.vetting.conftest import RATIONALE, Cast, Submit, finish_checks, start

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.vetting.api_urls")]
BASE = "/api/test/vetting"


def _post(client: Client, url: str, body: Mapping[str, object]) -> object:
    client.get("/cases/", secure=True)  # the CSRF cookie, as a browser session has it
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    return client.post(
        url,
        data=json.dumps(body),
        content_type="application/json",
        secure=True,
        HTTP_X_CSRFTOKEN=token,
        HTTP_ORIGIN="https://testserver",
    )


def test_every_vetting_endpoint_carries_a_staff_rule() -> None:
    rules = {r.name: access_rule(r.callback) for r in all_routes() if r.name.startswith("api-vetting-test:vetting")}
    assert rules and all(rule and rule.startswith("staff:") for rule in rules.values()), rules


def test_anonymous_callers_are_told_to_sign_in(submit: Submit) -> None:
    assert Client().get(f"{BASE}/cases", secure=True).status_code == 401


def test_the_case_list_holds_only_visible_cases_and_no_names(submit: Submit, vetting_cast: Cast, make_staff) -> None:  # type: ignore[no-untyped-def]
    case = submit()
    listed = signed_in(vetting_cast.adjudicators[0]).get(f"{BASE}/cases", secure=True)
    assert [c["id"] for c in listed.json()["cases"]] == [case.pk] and "Xylographov" not in listed.content.decode()
    stranger = signed_in(make_staff("lonely-investigator", "investigator"))
    assert stranger.get(f"{BASE}/cases", secure=True).json() == {"cases": [], "next": None}
    assert stranger.get(f"{BASE}/cases/{case.pk}", secure=True).status_code == 404


def test_two_adjudicators_decide_through_the_api(submit: Submit, vetting_cast: Cast) -> None:
    case = finish_checks(start(submit(), vetting_cast), vetting_cast)
    first, second = (signed_in(a) for a in vetting_cast.adjudicators[:2])
    body = {"outcome": "approve", "rationale": RATIONALE, "factors": {"nature": "Nothing."}}
    answer = _post(first, f"{BASE}/cases/{case.pk}/decisions", body)
    assert answer.status_code == 201 and answer.json()["seat"] == 1  # type: ignore[attr-defined]
    again = _post(first, f"{BASE}/cases/{case.pk}/decisions", body)
    assert again.status_code == 403  # type: ignore[attr-defined]
    assert _post(second, f"{BASE}/cases/{case.pk}/decisions", body).status_code == 201  # type: ignore[attr-defined]
    assert Case.objects.get(pk=case.pk).state == "approved"


def test_a_post_without_the_csrf_token_is_refused(submit: Submit, vetting_cast: Cast) -> None:
    case = finish_checks(start(submit(), vetting_cast), vetting_cast)
    client = signed_in(vetting_cast.adjudicators[0])
    answer = client.post(
        f"{BASE}/cases/{case.pk}/decisions",
        data=json.dumps({"outcome": "approve", "rationale": RATIONALE}),
        content_type="application/json",
        secure=True,
    )
    assert answer.status_code == 403 and not case.decisions.exists()


def test_an_investigator_records_his_check_through_the_api(submit: Submit, vetting_cast: Cast) -> None:
    from legionary.vetting import services

    case = start(submit(), vetting_cast)
    check = case.checks.get(check_type_id="identity")
    services.check_assign(check_id=check.pk, assignee=vetting_cast.investigator, actor=vetting_cast.intake)
    answer = _post(signed_in(vetting_cast.investigator), f"{BASE}/checks/{check.pk}", {"result": "clear", "note": "ok"})
    assert answer.status_code == 200 and answer.json()["result"] == "clear"  # type: ignore[attr-defined]


def test_the_openapi_document_lists_the_vetting_endpoints() -> None:
    paths = Client().get("/api/test/openapi.json", secure=True).json()["paths"]
    assert {
        "/api/test/vetting/cases",
        "/api/test/vetting/cases/{case_id}/decisions",
        "/api/test/vetting/checks/{check_id}",
    } <= set(paths)
