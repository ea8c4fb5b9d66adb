"""The public API: submit and status, one error format for every bad input, nothing stored on refusal."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from legionary.identity.models import BlindIndex, Person
from legionary.intake.models import Receipt, ReceiptFailure
from tests.intake.helpers import DROP, application

pytestmark = pytest.mark.django_db
URL = "/api/v1/applications"


def post(body: bytes | str, url: str = URL, content_type: str = "application/json") -> Any:
    return Client(enforce_csrf_checks=True).post(url, data=body, content_type=content_type, secure=True)


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/problem+json")
    body = json.loads(response.content)
    assert set(body) == {"type", "title", "status", "detail", "errors"} and body["status"] == status
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    assert Person.objects.count() == 0 and BlindIndex.objects.count() == 0 and Receipt.objects.count() == 0
    return body


def test_a_valid_application_gets_201_and_a_receipt() -> None:
    response = post(json.dumps(application()))
    assert response.status_code == 201
    receipt = json.loads(response.content)["receipt"]
    assert len(receipt.split()) == 7 and Person.objects.count() == 1
    status = post(json.dumps({"receipt": receipt}), url=URL + "/status")
    assert status.status_code == 200 and json.loads(status.content) == {"state": "received"}


def test_bad_json_is_a_400_problem() -> None:
    assert_problem(post(b'{"legion": "frl",'), 400)


def test_a_wrong_type_is_a_422_problem_naming_the_field() -> None:
    assert_problem(post(json.dumps(application(profile__years_of_service="2"))), 422, "profile.years_of_service")


def test_an_unknown_field_is_refused() -> None:
    assert_problem(post(json.dumps(application(identity__shoe_size=44))), 422, "identity.shoe_size")


def test_an_impossible_date_is_refused() -> None:
    body = assert_problem(post(json.dumps(application(identity__date_of_birth="1990-02-30"))), 422)
    assert {"field": "identity.date_of_birth", "message": "not a real date"} in body["errors"]


def test_a_nul_character_is_refused() -> None:
    assert_problem(
        post(json.dumps(application(identity__family_name="Xylo\u0000graphov"))), 422, "identity.family_name"
    )


def test_a_lone_surrogate_is_refused() -> None:
    raw = json.dumps(application()).replace("Xylographov", "Xylo\\ud800graphov")
    assert_problem(post(raw), 422, "identity.family_name")


def test_a_ten_megabyte_string_is_refused_as_too_large() -> None:
    assert_problem(post(json.dumps(application(identity__address="a" * 10 * 1024 * 1024))), 413)


def test_deeply_nested_json_is_refused() -> None:
    assert_problem(post("[" * 100_000 + "]" * 100_000), 400)


def test_a_missing_consent_is_refused() -> None:
    assert_problem(post(json.dumps(application(consent=DROP))), 422, "consent")


def test_consent_false_is_refused() -> None:
    assert_problem(post(json.dumps(application(consent=False))), 422, "consent")


def test_an_unknown_legion_is_refused() -> None:
    assert_problem(post(json.dumps(application(legion="wagner"))), 422, "legion")


def test_a_body_that_is_not_json_typed_is_refused() -> None:
    assert_problem(post("legion=frl", content_type="application/x-www-form-urlencoded"), 415)


def test_a_second_application_with_the_same_external_ref_is_a_409() -> None:
    assert post(json.dumps(application())).status_code == 201
    response = post(json.dumps(application()))
    assert response.status_code == 409
    assert Person.objects.count() == 1


def test_problems_never_echo_the_submitted_value() -> None:
    response = post(json.dumps(application(identity__date_of_birth="Zebulon-secret")))
    assert b"Zebulon" not in response.content


def test_wrong_receipts_are_limited_per_client() -> None:
    from legionary.intake.services import RECEIPT_FAILURE_LIMIT

    for _ in range(RECEIPT_FAILURE_LIMIT):
        assert post(json.dumps({"receipt": "abandon " * 7}), url=URL + "/status").status_code == 404
    limited = post(json.dumps({"receipt": "abandon " * 7}), url=URL + "/status")
    assert limited.status_code == 429 and "Retry-After" in limited
    other = Client().post(
        URL + "/status",
        data=json.dumps({"receipt": "abandon " * 7}),
        content_type="application/json",
        secure=True,
        REMOTE_ADDR="198.51.100.7",
    )
    assert other.status_code == 404
    assert ReceiptFailure.objects.count() == RECEIPT_FAILURE_LIMIT + 1


def test_the_openapi_document_describes_both_endpoints() -> None:
    response = Client().get("/api/v1/openapi.json", secure=True)
    assert response.status_code == 200
    document = json.loads(response.content)
    assert {"/api/v1/applications", "/api/v1/applications/status"} <= set(document["paths"])
    body = document["paths"]["/api/v1/applications"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["additionalProperties"] is False and "consent" in body["required"]


def test_api_routes_carry_the_public_mark() -> None:
    from legionary.access.policy import access_rule
    from tests.routes import all_routes

    api = {r.name: access_rule(r.callback) for r in all_routes() if r.name.startswith("api-public:")}
    assert api["api-public:applications"] == "public"
    assert api["api-public:applications-status"] == "public"
    assert api["api-public:openapi-json"] == "public"
