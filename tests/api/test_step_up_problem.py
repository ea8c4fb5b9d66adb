"""An API call that would open sealed data while a step-up is due: a 403 problem of its own type."""

from __future__ import annotations

import json

import pytest

from legionary.access.roles import Role
from tests.conftest import MakeStaff, signed_in
from tests.vetting.test_step_up import last_code_minutes_ago

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api.stepup_urls")]

URL = "/api/test/opening"


def test_a_call_after_the_setting_gets_a_step_up_required_problem(make_staff: MakeStaff) -> None:
    client = signed_in(make_staff("ian-api", Role.INVESTIGATOR))
    last_code_minutes_ago(client, 11)
    answer = client.get(URL, secure=True)
    assert answer.status_code == 403
    assert answer["Content-Type"].startswith("application/problem+json")
    problem = json.loads(answer.content)
    assert problem["type"] == "https://legionary.invalid/problems/step-up-required"
    assert problem["status"] == 403 and "/step-up/" in problem["detail"]


def test_a_call_within_the_setting_goes_through(make_staff: MakeStaff) -> None:
    client = signed_in(make_staff("ian-api", Role.INVESTIGATOR))
    answer = client.get(URL, secure=True)
    assert answer.status_code == 200 and json.loads(answer.content) == {"opened": True}


def test_the_wrong_role_is_a_plain_forbidden_problem_not_a_step_up(make_staff: MakeStaff) -> None:
    client = signed_in(make_staff("ada-api", Role.ADJUDICATOR))
    last_code_minutes_ago(client, 11)
    problem = json.loads(client.get(URL, secure=True).content)
    assert problem["type"].endswith("/forbidden")
