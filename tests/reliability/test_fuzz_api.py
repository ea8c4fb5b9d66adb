"""Schemathesis over every operation of ``/api/v1/openapi.json``, anonymous and as each staff role,
over seeded staff data (``tests/reliability/seed.py``).

A bounded budget: ``FUZZ_EXAMPLES`` per operation, mode and identity, and ``FUZZ_SCENARIOS``
stateful scenarios of up to ``FUZZ_STEPS`` calls per identity (deadline off); the longer run is
``bench/bench_fuzz.py``. Zero 5xx and zero responses that break the document, ids drawn from real
rows so the staff operations answer from data, and no scoped account ever reading a row outside
its scope.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.test import Client

from legionary.access.models import Staff
from legionary.access.roles import Role
from legionary.intake import services as intake_services
from legionary.training.models import Result
from legionary.units.models import Assignment
from tests.conftest import MakeStaff, signed_in
from tests.intake.helpers import application
from tests.reliability.fuzzing import Identity, Oracle, Report, fuzz, fuzz_stateful, staff_identity
from tests.reliability.seed import Seeded, seed_staff_data

pytestmark = pytest.mark.django_db
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 2)
FUZZ_SCENARIOS = int(os.environ.get("FUZZ_SCENARIOS") or 5)
FUZZ_STEPS = int(os.environ.get("FUZZ_STEPS") or 10)
# Operations that read one seeded resource: each must answer 200 from a real row at least once.
READS_BY_ID = {
    "GET /api/v1/vetting/cases/{case_id}",
    "GET /api/v1/vetting/cases/{case_id}/decisions",
    "GET /api/v1/vetting/checks/{check_id}",
    "GET /api/v1/training/cohorts/{cohort_id}",
    "GET /api/v1/training/cohorts/{cohort_id}/enrolments",
    "GET /api/v1/training/cohorts/{cohort_id}/results",
    "GET /api/v1/training/results/{result_id}/versions",
    "GET /api/v1/training/results/{result_id}/sign-offs",
    "GET /api/v1/units/{unit_id}/roster",
    "GET /api/v1/units/people/{person_id}",
}


@pytest.fixture
def world(
    cast: dict[str, Staff], make_staff: MakeStaff, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Identity], Seeded]:
    """Seeded data, one public application, and an identity per role (system-wide grants) plus the
    two scoped accounts, each signed in with both factors. The public limits are lifted so that the
    fuzzer is not answered 429 after a few requests."""
    settings.LEGIONARY_APPLY_LIMIT = 1_000_000
    # Read once when intake.services is imported, so a settings override does not reach it.
    monkeypatch.setattr(intake_services, "RECEIPT_FAILURE_LIMIT", 1_000_000)
    response = Client().post(
        "/api/v1/applications", data=json.dumps(application()), content_type="application/json", secure=True
    )
    assert response.status_code == 201, response.content[:300]
    seeded = seed_staff_data(cast, make_staff)
    identities = [Identity("anonymous")]
    identities += [staff_identity(role, signed_in(cast[role])) for role in Role.values]
    identities += [staff_identity(name, signed_in(staff)) for name, staff in seeded.scoped.items()]
    return identities, seeded


def _assert_clean(report: Report) -> None:
    print(report.summary())
    assert report.failures == [], "\n\n".join(report.failures)
    assert not any(code >= 500 for code in report.statuses), report.summary()


def _scope_oracle(seeded: Seeded) -> Oracle:
    """Judges, when it is given, a 2xx a scoped account got: the row must be inside its scope
    (outside, the answer must be 404). Rows are looked up in the database as the answer saw them."""
    cohorts = seeded.in_scope["instructor_one_cohort"]["cohort_id"]
    units = seeded.in_scope["commander_one_company"]["unit_id"]

    def judge(identity: str, operation: str, params: dict[str, Any]) -> str | None:
        inside = True
        if identity == "instructor_one_cohort":
            if "cohort_id" in params:
                inside = params["cohort_id"] in cohorts
            if "result_id" in params:
                inside = Result.objects.filter(pk=params["result_id"], enrolment__cohort_id__in=cohorts).exists()
        if identity == "commander_one_company":
            if "unit_id" in params:
                inside = params["unit_id"] in units
            if "person_id" in params:
                inside = Assignment.objects.filter(
                    person_id=params["person_id"], is_latest=True, billet__unit_id__in=units
                ).exists()
        return None if inside else f"{identity} {operation} {params}"

    return judge


def test_every_api_operation_survives_fuzzing_as_each_role_with_ids_drawn_from_seeded_rows(
    world: tuple[list[Identity], Seeded],
) -> None:
    identities, seeded = world
    report = fuzz(identities, max_examples=FUZZ_EXAMPLES, values=seeded.values, oracle=_scope_oracle(seeded))
    _assert_clean(report)
    assert len(report.operations) >= 20 and set(report.by_identity) == {i.name for i in identities}
    answered = {operation for _identity, operation, _params in report.hits}
    assert READS_BY_ID <= answered, f"never answered from a seeded row: {sorted(READS_BY_ID - answered)}"
    assert report.leaks == []


def test_stateful_scenarios_over_inferred_links_survive_as_each_role(world: tuple[list[Identity], Seeded]) -> None:
    identities, seeded = world
    report = fuzz_stateful(
        identities, scenarios=FUZZ_SCENARIOS, steps=FUZZ_STEPS, values=seeded.values, oracle=_scope_oracle(seeded)
    )
    _assert_clean(report)
    # Links were followed, and reads by id answered from real rows.
    assert sum(report.links_followed.values()) > 0 and report.hits, report.summary()
    assert report.leaks == []
