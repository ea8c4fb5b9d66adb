"""The API checks who is asking before it reads what he sent: sign-in, role, CSRF and scope come
before the body, and every refusal is a problem (``application/problem+json``), never an HTML page.

Found from outside: signed-out or out-of-scope writes were answered 422 for a bad body, which told
a stranger what a valid body looks like and that the object exists. Every staff write endpoint of
the project API is walked, found from the API itself, so a new one is covered without a new test.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from legionary.access.policy import access_rule
from legionary.access.roles import ROLE_PERMISSIONS, Perm, Role
from legionary.api.api import api
from tests.conftest import MakeStaff, signed_in
from tests.vetting.conftest import Cast, Submit, start

pytestmark = pytest.mark.django_db
# Bodies no endpoint accepts: not JSON, the wrong shape, fields missing.
BAD_BODIES = [b'{"outcome": ', b"[1, 2]", b"{}"]
MISSING_ID = "987654"


def _staff_writes() -> list[tuple[str, str]]:
    """(path with a missing object's id, permission) of every unsafe staff operation of the project API."""
    found = []
    for prefix, router in api._routers:
        for subpath, path_view in router.path_operations.items():
            for operation in path_view.operations:
                rule = access_rule(operation.view_func) or ""
                if rule.startswith("staff:") and set(operation.methods) & {"POST", "PUT", "PATCH", "DELETE"}:
                    path = (
                        "/api/v1" + ("/" + prefix.strip("/") if prefix.strip("/") else "") + "/" + subpath.lstrip("/")
                    )
                    path = re.sub(r"\{(?:\w+:)?\w+\}", MISSING_ID, path)
                    found.append((path, rule.removeprefix("staff:")))
    return found


WRITES = _staff_writes()


def test_the_walk_finds_the_staff_writes() -> None:
    assert len(WRITES) >= 6, WRITES


def _csrf(client: Client) -> dict[str, str]:
    """The CSRF cookie and header a browser session has: taken from a staff page (its sign-out form),
    since the public landing page carries no form and sets no cookie."""
    client.get("/work/", secure=True)
    token = client.cookies[settings.CSRF_COOKIE_NAME]
    return {"X-CSRFToken": token.value, "Origin": "https://testserver"}


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body: dict[str, Any] = json.loads(response.content)
    assert body["status"] == status
    return body


@pytest.mark.parametrize(("path", "perm"), WRITES)
@pytest.mark.parametrize("body", BAD_BODIES)
def test_a_signed_out_write_is_a_401_problem_whatever_the_body(path: str, perm: str, body: bytes) -> None:
    response = Client(enforce_csrf_checks=True).post(path, data=body, content_type="application/json", secure=True)
    _problem(response, 401)


@pytest.mark.parametrize(("path", "perm"), WRITES)
def test_a_password_only_session_gets_a_401_problem(make_staff: MakeStaff, path: str, perm: str) -> None:
    staff = make_staff("half", *[r for r in Role.values if Perm(perm) in ROLE_PERMISSIONS[r]])
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    _problem(client.post(path, data=b"{}", content_type="application/json", secure=True), 401)


@pytest.mark.parametrize(("path", "perm"), WRITES)
@pytest.mark.parametrize("body", BAD_BODIES)
def test_a_role_without_the_permission_gets_a_403_problem_whatever_the_body(
    make_staff: MakeStaff, path: str, perm: str, body: bytes
) -> None:
    client = signed_in(make_staff("auditor", Role.AUDITOR))
    response = client.post(path, data=body, content_type="application/json", secure=True, headers=_csrf(client))
    _problem(response, 403)


@pytest.mark.parametrize(("path", "perm"), WRITES)
def test_a_write_without_the_csrf_token_gets_a_403_problem_before_the_body_is_read(
    make_staff: MakeStaff, path: str, perm: str
) -> None:
    client = signed_in(make_staff("everyone", *Role.values))
    _problem(client.post(path, data=b"{}", content_type="application/json", secure=True), 403)


@pytest.mark.parametrize(("path", "perm"), WRITES)
@pytest.mark.parametrize("body", BAD_BODIES)
def test_an_object_outside_the_scope_is_a_404_problem_whatever_the_body(
    make_staff: MakeStaff, path: str, perm: str, body: bytes
) -> None:
    client = signed_in(make_staff("everyone", *Role.values))
    response = client.post(path, data=body, content_type="application/json", secure=True, headers=_csrf(client))
    _problem(response, 404)


def test_a_case_of_another_legion_is_a_404_before_its_bad_body_is_read(
    submit: Submit, vetting_cast: Cast, make_staff: MakeStaff
) -> None:
    case = start(submit(), vetting_cast)  # an frl case
    check = case.checks.first()
    assert check is not None
    outsider = make_staff("brl-everyone", Role.ADJUDICATOR, Role.INVESTIGATOR, scope_kind="legion", scope_ref="brl")
    client = signed_in(outsider)
    for path in (f"/api/v1/vetting/cases/{case.pk}/decisions", f"/api/v1/vetting/checks/{check.pk}"):
        response = client.post(path, data=b"{}", content_type="application/json", secure=True, headers=_csrf(client))
        _problem(response, 404)


def test_the_openapi_document_says_401_not_302() -> None:
    document = json.loads(Client().get("/api/v1/openapi.json", secure=True).content)
    operation = document["paths"]["/api/v1/vetting/cases/{case_id}/decisions"]["post"]
    assert "401" in operation["responses"] and "302" not in operation["responses"]
