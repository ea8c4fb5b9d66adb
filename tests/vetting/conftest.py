"""The vetting cast and a few steps that walk a case forward, built in code through the real services."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from legionary.access.models import Staff
from legionary.access.roles import Role
from legionary.intake.schema import validate_application
from legionary.intake.services import Channel, application_submit
from legionary.vetting import services
from legionary.vetting.models import Case, CheckResult, PolygraphOutcome
from tests.conftest import MakeStaff
from tests.intake.helpers import DROP, application

NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


@dataclass
class Cast:
    intake: Staff
    investigator: Staff
    examiner: Staff
    ci: Staff
    adjudicators: list[Staff]
    senior: Staff


@pytest.fixture
def vetting_cast(make_staff: MakeStaff) -> Cast:
    return Cast(
        intake=make_staff("ivy-intake", Role.INTAKE_OFFICER),
        investigator=make_staff("ian-investigator", Role.INVESTIGATOR),
        examiner=make_staff("pat-polygraph", Role.POLYGRAPH_EXAMINER),
        ci=make_staff("cid-ci", Role.CI_OFFICER),
        adjudicators=[make_staff(f"ada-{n}", Role.ADJUDICATOR) for n in range(1, 5)],
        senior=make_staff("sam-senior", Role.SENIOR_ADJUDICATOR),
    )


Submit = Callable[..., Case]


@pytest.fixture
def submit(db: None) -> Submit:
    counter = iter(range(1, 1000))

    def make(**changes: Any) -> Case:
        changes.setdefault("external_ref", f"v-{next(counter):04d}")
        return application_submit(application=validate_application(application(**changes)), channel=Channel.IMPORT).case

    return make


def reapplied(submit: Submit, *, given_names: str = "Leonid", family_name: str = "Maksimov") -> Case:
    """The default applicant applying again under another name: the same birth date, patronymic and
    birthplace, and no document, phone or e-mail to give him away. The possible tier pairs him with
    each earlier such applicant (arrival marks his case "open"); the match tier links him to none."""
    again = submit(
        identity__given_names=given_names,
        identity__family_name=family_name,
        identity__documents=DROP,
        identity__phone=DROP,
        identity__email=DROP,
    )
    assert not again.flagged  # no match: the possible tier only
    return again


def start(case: Case, cast: Cast) -> Case:
    return services.vetting_start(case_id=case.pk, actor=cast.intake, now=NOW)


def finish_checks(case: Case, cast: Cast, results: dict[str, str] | None = None, polygraph: str = "") -> Case:
    """Assigns every open check to the right member of the cast and records its result (clear by default)."""
    results = results or {}
    for check in case.checks.select_related("check_type").filter(result=""):
        who = {"investigator": cast.investigator, "polygraph_examiner": cast.examiner, "ci_officer": cast.ci}[
            check.check_type.role
        ]
        services.check_assign(check_id=check.pk, assignee=who, actor=cast.intake, now=NOW)
        record = None
        if check.check_type.is_polygraph:
            record = services.PolygraphRecord(
                examined_on=NOW.date(),
                question_areas=["contacts with foreign services"],
                outcome=polygraph or PolygraphOutcome.NDI,
            )
        services.check_record(
            check_id=check.pk,
            actor=who,
            result=results.get(check.check_type_id, CheckResult.CLEAR),
            note="Spoke with the referee in Vorkutograd.",
            polygraph=record,
            now=NOW,
        )
    case.refresh_from_db()
    return case


RATIONALE = "Weighed every check and finding under the whole-person concept."


def browser_post(client: Client, url: str, data: dict[str, Any], *, page: str = "/cases/") -> Any:
    """A form post as a browser sends it: the CSRF cookie from a page, its token and the origin."""
    client.get(page, secure=True)
    return token_post(client, url, data)


def token_post(client: Client, url: str, data: dict[str, Any]) -> Any:
    """The post of ``browser_post`` alone, for a client that already holds the CSRF cookie (so that
    a test can measure the post without the page read before it)."""
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    return client.post(url, {**data, "csrfmiddlewaretoken": token}, secure=True, HTTP_ORIGIN="https://testserver")
