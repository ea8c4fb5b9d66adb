"""A decision's rationale and an appeal's grounds hold visible letters (``core.reasons``), API included."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from legionary.audit.models import Entry
from legionary.vetting import services
from legionary.vetting.models import Case
from tests.conftest import signed_in
from tests.vetting.conftest import Cast, Submit, browser_post, finish_checks, start

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.vetting.api_urls")]
INVISIBLE_RATIONALE = "\u200b" * 40


def test_a_decision_with_an_invisible_rationale_is_refused_by_the_service(submit: Submit, vetting_cast: Cast) -> None:
    case = finish_checks(start(submit(), vetting_cast), vetting_cast)
    with pytest.raises(services.VettingError, match="rationale"):
        services.case_decide(
            case_id=case.pk, actor=vetting_cast.adjudicators[0], outcome="approve", rationale=INVISIBLE_RATIONALE
        )
    assert not case.decisions.exists()


def test_a_decision_with_an_invisible_rationale_is_refused_by_the_api(submit: Submit, vetting_cast: Cast) -> None:
    case = finish_checks(start(submit(), vetting_cast), vetting_cast)
    client: Client = signed_in(vetting_cast.adjudicators[0])
    client.get("/cases/", secure=True)
    answer = client.post(
        f"/api/test/vetting/cases/{case.pk}/decisions",
        data=json.dumps({"outcome": "approve", "rationale": INVISIBLE_RATIONALE}),
        content_type="application/json",
        secure=True,
        HTTP_X_CSRFTOKEN=client.cookies[settings.CSRF_COOKIE_NAME].value,
        HTTP_ORIGIN="https://testserver",
    )
    assert answer.status_code == 422 and "rationale" in answer.json()["detail"]
    assert not Case.objects.get(pk=case.pk).decisions.exists()


@pytest.mark.django_db(transaction=True)
def test_the_unseal_form_refuses_an_invisible_reason_and_opens_nothing(submit: Submit, vetting_cast: Cast) -> None:
    case = start(submit(), vetting_cast)
    review = case.checks.get(check_type__is_ci_review=True)
    services.check_assign(check_id=review.pk, assignee=vetting_cast.ci, actor=vetting_cast.intake)
    client = signed_in(vetting_cast.ci)
    refused = browser_post(client, reverse("vetting:unseal", args=[case.pk]), {"reason": "\u200b" * 5})
    assert refused.status_code == 400 and "Xylographov" not in refused.content.decode()
    assert not Entry.objects.filter(action="identity.unsealed").exists()
