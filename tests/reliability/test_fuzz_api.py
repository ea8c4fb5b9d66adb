"""Schemathesis over every operation of ``/api/v1/openapi.json``, anonymous and as each staff role.

A bounded budget (``FUZZ_EXAMPLES`` per operation, mode and identity; deadline off); the longer
run is ``bench/bench_fuzz.py``. Zero 5xx and zero responses that break the document.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.test import Client

from legionary.access.models import Staff
from tests.conftest import signed_in
from tests.intake.helpers import application
from tests.reliability.fuzzing import Identity, fuzz, staff_identity

pytestmark = pytest.mark.django_db
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 6)
# The roles the staff routers need: cases and checks, decisions, training, units.
ROLES = ["investigator", "adjudicator", "instructor", "unit_commander"]


def _seed_one_application() -> None:
    response = Client().post(
        "/api/v1/applications", data=json.dumps(application()), content_type="application/json", secure=True
    )
    assert response.status_code == 201, response.content[:300]


def test_every_api_operation_survives_fuzzing_anonymously_and_as_each_staff_role(
    cast: dict[str, Staff], settings: Any
) -> None:
    settings.LEGIONARY_APPLY_LIMIT = 1_000_000
    settings.LEGIONARY_RECEIPT_FAILURE_LIMIT = 1_000_000
    _seed_one_application()
    identities = [Identity("anonymous")] + [staff_identity(role, signed_in(cast[role])) for role in ROLES]
    report = fuzz(identities, max_examples=FUZZ_EXAMPLES)
    print(report.summary())
    assert report.requests > 0 and len(report.operations) >= 20
    assert report.failures == [], "\n\n".join(report.failures)
    assert not any(code >= 500 for code in report.statuses), report.summary()
