"""Public submissions are limited per client (keyed hash of its address), form and API together."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from legionary.identity.models import Person
from legionary.intake.models import SubmissionRecord
from tests.intake.helpers import application

pytestmark = pytest.mark.django_db


def _api(n: int, address: str) -> Any:
    body = json.dumps(application(external_ref=f"rl-{address}-{n}"))
    return Client().post(
        "/api/v1/applications", data=body, content_type="application/json", secure=True, REMOTE_ADDR=address
    )


def test_a_client_over_the_hourly_limit_gets_429_and_nothing_is_stored(settings: Any) -> None:
    settings.LEGIONARY_APPLY_LIMIT = 3
    assert [_api(n, "198.51.100.7").status_code for n in range(3)] == [201, 201, 201]
    refused = _api(3, "198.51.100.7")
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    assert json.loads(refused.content)["type"].endswith("/too-many-submissions")
    assert Person.objects.count() == 3

    client = Client(enforce_csrf_checks=True)
    page = client.get("/apply/", secure=True, REMOTE_ADDR="198.51.100.7")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token is not None
    form = {
        "legion": "geo",
        "given_names": "Quirinus",
        "family_name": "Zhgentiklashvili",
        "date_of_birth": "1988-11-02",
        "citizenships": "GE",
        "consent": "on",
        "csrfmiddlewaretoken": token.group(1).decode(),
    }
    on_form = client.post("/apply/", form, secure=True, REMOTE_ADDR="198.51.100.7", HTTP_ORIGIN="https://testserver")
    assert on_form.status_code == 429
    assert "Too many applications were sent from here" in on_form.content.decode()
    assert Person.objects.count() == 3

    assert _api(4, "203.0.113.9").status_code == 201, "another client is not limited"
    assert Person.objects.count() == 4
    assert "198.51.100.7" not in set(SubmissionRecord.objects.values_list("client", flat=True))


def test_refused_applications_do_not_count_towards_the_limit(settings: Any) -> None:
    settings.LEGIONARY_APPLY_LIMIT = 1
    bad = json.dumps(application(identity__date_of_birth="1990-02-30"))
    for _ in range(3):
        response = Client().post(
            "/api/v1/applications", data=bad, content_type="application/json", secure=True, REMOTE_ADDR="192.0.2.1"
        )
        assert response.status_code == 422
    assert _api(0, "192.0.2.1").status_code == 201
