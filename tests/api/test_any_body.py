"""Any body at all gets a 4xx problem, never a 500: the JSON decoder and every JSON-accepting endpoint.

Found from outside: a 5,000-digit integer made Python's integer-string limit raise ``ValueError``
inside the decoder, which nothing caught. The decoder must answer every input with a value or
``ApplicationInvalid``; every endpoint that reads JSON must answer any bytes with a client error in
the API's one error format.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legionary.access.models import Staff
from legionary.access.roles import Role
from legionary.intake.schema import ApplicationInvalid, decode_json
from tests.conftest import MakeStaff, signed_in
from tests.intake.helpers import application

HUGE = "9" * 5000
# JSON values, numbers with many digits included, as text that may also be cut or altered.
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.integers(min_value=1, max_value=6000).map(lambda n: "7" * n),
)
_json_values = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
)


def _as_json(value: Any) -> str:
    # Strings of digits stand for numbers too long for int(): write them bare.
    text = json.dumps(value)
    return text.replace('"' + "7" * 10, "7" * 10).replace("7" * 10 + '"', "7" * 10)


def test_a_five_thousand_digit_integer_is_refused_by_the_decoder() -> None:
    with pytest.raises(ApplicationInvalid, match="digits"):
        decode_json('{"legion": ' + HUGE + "}")


def test_a_number_too_large_for_a_float_is_refused_by_the_decoder() -> None:
    with pytest.raises(ApplicationInvalid):
        decode_json('{"n": 1e999}')


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_the_decoder_answers_any_bytes_with_a_value_or_a_refusal(raw: bytes) -> None:
    try:
        decode_json(raw)
    except ApplicationInvalid:
        pass


@settings(max_examples=300, deadline=None)
@given(_json_values.map(_as_json))
def test_the_decoder_answers_any_json_with_a_value_or_a_refusal(text: str) -> None:
    try:
        decode_json(text)
    except ApplicationInvalid:
        pass


def _assert_client_problem(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    assert json.loads(response.content)["status"] == response.status_code


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/applications", "/api/v1/applications/status"])
def test_a_five_thousand_digit_integer_is_a_4xx_problem_at_the_public_endpoints(url: str) -> None:
    body = '{"receipt": ' + HUGE + "}"
    if url.endswith("applications"):
        body = json.dumps(application()).replace('"frl"', HUGE, 1)
    response = Client().post(url, data=body, content_type="application/json", secure=True)
    _assert_client_problem(response)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=200), _json_values.map(_as_json).map(str.encode)))
@pytest.mark.parametrize("url", ["/api/v1/applications", "/api/v1/applications/status"])
def test_any_body_is_a_4xx_problem_at_the_public_endpoints(url: str, body: bytes) -> None:
    response = Client().post(url, data=body, content_type="application/json", secure=True)
    _assert_client_problem(response)


# Every staff endpoint that reads a JSON body, with a path the caller may reach.
STAFF_WRITES = [
    "/api/v1/vetting/checks/1",
    "/api/v1/vetting/cases/1/decisions",
    "/api/v1/training/cohorts/1/enrolments",
    "/api/v1/training/cohorts/1/results",
    "/api/v1/training/results/1/versions",
    "/api/v1/training/results/1/sign-offs",
]


@pytest.fixture
def everyone(make_staff: MakeStaff) -> Staff:
    return make_staff("all-roles", *Role.values)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=200), _json_values.map(_as_json).map(str.encode), st.just(HUGE.encode())))
def test_any_body_is_a_4xx_problem_at_every_staff_write(everyone: Staff, body: bytes) -> None:
    client = signed_in(everyone)
    client.get("/cases/", secure=True)  # the CSRF cookie, as a browser session has it
    token = client.cookies[django_settings.CSRF_COOKIE_NAME].value
    headers = {"X-CSRFToken": token, "Origin": "https://testserver"}
    for url in STAFF_WRITES:
        response = client.post(url, data=body, content_type="application/json", secure=True, headers=headers)
        _assert_client_problem(response)
