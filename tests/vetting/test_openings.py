"""Purpose-bound opening and break-glass (issue 21): every opening goes through identity.openings.

Openings commit their audit entry before decrypting, so they refuse to run inside the transaction a
plain django_db test wraps around everything: these tests are transactional.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from legionary.access.models import Staff
from legionary.access.roles import Role
from legionary.audit.models import Entry
from legionary.identity import openings
from legionary.identity.models import Opening, OpeningRequest
from legionary.identity.services import Actor, unseal_identity
from legionary.vetting import services
from legionary.vetting.models import Case, CheckResult
from tests.conftest import MakeStaff, signed_in
from tests.vetting.conftest import Cast, Submit, browser_post, start

pytestmark = pytest.mark.django_db(transaction=True)


def details(action: str) -> list[dict[str, Any]]:
    return [json.loads(bytes(e.body))["details"] for e in Entry.objects.filter(action=action).order_by("index")]


def assigned_case(submit: Submit, cast: Cast) -> tuple[Case, int]:
    """A started case whose identity check is assigned to the investigator (open)."""
    case = start(submit(), cast)
    check = case.checks.get(check_type_id="identity")
    services.check_assign(check_id=check.pk, assignee=cast.investigator, actor=cast.intake)
    return case, check.pk


def open_as(staff: Staff, case: Case, reason: str = "Confirm the passport number") -> dict[str, Any]:
    return unseal_identity(person=case.person, actor=Actor(staff.get_username(), staff), reason=reason)


@pytest.fixture
def officers(make_staff: MakeStaff) -> tuple[Staff, Staff]:
    return make_staff("sol-security", Role.SECURITY_OFFICER), make_staff("sue-security", Role.SECURITY_OFFICER)


def test_an_assigned_opening_goes_through_and_names_its_check(submit: Submit, vetting_cast: Cast) -> None:
    case, check = assigned_case(submit, vetting_cast)
    assert open_as(vetting_cast.investigator, case)
    assert details("identity.unsealed")[-1]["check"] == check
    assert Opening.objects.get().check_id == check
    assert not OpeningRequest.objects.exists()


def test_an_investigator_opening_outside_his_open_checks_is_held_until_approved(
    submit: Submit, vetting_cast: Cast, officers: tuple[Staff, Staff]
) -> None:
    case, check = assigned_case(submit, vetting_cast)
    for mine in case.checks.filter(assigned_to=vetting_cast.investigator, result="").values_list("pk", flat=True):
        services.check_record(check_id=mine, actor=vetting_cast.investigator, result=CheckResult.CLEAR)
    assert case.checks.filter(assigned_to=vetting_cast.investigator, result=CheckResult.CLEAR).filter(pk=check).exists()
    with pytest.raises(openings.OpeningHeld) as held:
        open_as(vetting_cast.investigator, case)
    assert not Entry.objects.filter(action="identity.unsealed").exists()
    request = held.value.request
    assert (request.state, request.cause) == (openings.PENDING, openings.UNASSIGNED)
    assert details("opening.requested")[-1]["request"] == request.pk
    openings.decide(request_pk=request.pk, approver=officers[0], approve=True)
    assert details("opening.approved")[-1]["request"] == request.pk
    assert open_as(vetting_cast.investigator, case)
    assert details("identity.unsealed")[-1]["break_glass"] == request.pk
    # One opening per approval: the next one is held again.
    with pytest.raises(openings.OpeningHeld):
        open_as(vetting_cast.investigator, case)
    assert Entry.objects.filter(action="identity.unsealed").count() == 1


def test_the_approver_can_never_be_the_requester(
    submit: Submit, vetting_cast: Cast, officers: tuple[Staff, Staff]
) -> None:
    sol, sue = officers
    case = start(submit(), vetting_cast)
    with pytest.raises(openings.OpeningHeld) as held:
        open_as(sol, case)  # a security officer has no assignments: break-glass
    with pytest.raises(openings.OpeningError, match="your own request"):
        openings.decide(request_pk=held.value.request.pk, approver=sol, approve=True)
    assert OpeningRequest.objects.get().state == openings.PENDING
    with pytest.raises(openings.OpeningError, match="security officer"):
        openings.decide(request_pk=held.value.request.pk, approver=vetting_cast.ci, approve=True)
    openings.decide(request_pk=held.value.request.pk, approver=sue, approve=True)
    assert open_as(sol, case)


def test_an_expired_approval_opens_nothing(submit: Submit, vetting_cast: Cast, officers: tuple[Staff, Staff]) -> None:
    sol, sue = officers
    case = start(submit(), vetting_cast)
    with pytest.raises(openings.OpeningHeld) as held:
        open_as(sol, case)
    openings.decide(request_pk=held.value.request.pk, approver=sue, approve=True)
    OpeningRequest.objects.filter(pk=held.value.request.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(openings.OpeningHeld):
        open_as(sol, case)
    assert not Entry.objects.filter(action="identity.unsealed").exists()


def test_a_request_not_decided_in_time_expires_and_cannot_be_approved(
    submit: Submit, vetting_cast: Cast, officers: tuple[Staff, Staff], settings: Any
) -> None:
    sol, sue = officers
    case = start(submit(), vetting_cast)
    with pytest.raises(openings.OpeningHeld) as held:
        open_as(sol, case)
    request = held.value.request
    assert request.expires_at - request.created_at == timedelta(minutes=30)
    OpeningRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(openings.OpeningError, match="expired"):
        openings.decide(request_pk=request.pk, approver=sue, approve=True)
    assert OpeningRequest.objects.get().state == openings.EXPIRED
    assert details("opening.expired")[-1]["request"] == request.pk
    with pytest.raises(openings.OpeningHeld):
        open_as(sol, case)


def test_the_approval_time_is_set_per_legion(
    submit: Submit, vetting_cast: Cast, officers: tuple[Staff, Staff], settings: Any
) -> None:
    case = start(submit(), vetting_cast)
    settings.LEGIONARY_OPENING_POLICY = {
        **settings.LEGIONARY_OPENING_POLICY,
        "legions": {case.legion: {"approval_minutes": 5}},
    }
    with pytest.raises(openings.OpeningHeld) as held:
        open_as(officers[0], case)
    assert held.value.request.expires_at - held.value.request.created_at == timedelta(minutes=5)


def test_the_allowance_stops_the_n_plus_first_opening(
    submit: Submit, vetting_cast: Cast, officers: tuple[Staff, Staff], settings: Any
) -> None:
    policy = settings.LEGIONARY_OPENING_POLICY
    settings.LEGIONARY_OPENING_POLICY = {
        **policy,
        "default": {**policy["default"], "allowance": {**policy["default"]["allowance"], "investigator": 3}},
    }
    case, _check = assigned_case(submit, vetting_cast)
    for _n in range(3):
        assert open_as(vetting_cast.investigator, case)
    with pytest.raises(openings.OpeningHeld) as held:
        open_as(vetting_cast.investigator, case)
    assert held.value.request.cause == openings.ALLOWANCE
    assert Entry.objects.filter(action="identity.unsealed").count() == 3
    # Approved, the fourth goes through once, naming both its check and its approval.
    openings.decide(request_pk=held.value.request.pk, approver=officers[0], approve=True)
    assert open_as(vetting_cast.investigator, case)
    assert {"check", "break_glass"} <= set(details("identity.unsealed")[-1])


def test_an_alert_policy_opens_at_once_and_tells_the_security_officer(
    submit: Submit, vetting_cast: Cast, officers: tuple[Staff, Staff], settings: Any
) -> None:
    sol, sue = officers
    case = start(submit(), vetting_cast)
    settings.LEGIONARY_OPENING_POLICY = {
        **settings.LEGIONARY_OPENING_POLICY,
        "legions": {case.legion: {"break_glass": "alert"}},
    }
    assert open_as(sol, case)
    request = OpeningRequest.objects.get()
    assert request.state == openings.IMMEDIATE
    assert details("opening.break_glass")[-1]["request"] == request.pk
    assert details("identity.unsealed")[-1]["break_glass"] == request.pk
    page = signed_in(sue).get(reverse("access:my-work"), secure=True).content.decode()
    assert "Break-glass openings in the last 24 hours" in page and reverse("openings:review", args=[request.pk]) in page


def test_the_unseal_form_shows_held_then_the_requester_finds_the_approval_on_my_work(
    submit: Submit, vetting_cast: Cast, officers: tuple[Staff, Staff], make_staff: MakeStaff
) -> None:
    _sol, sue = officers
    case = start(submit(), vetting_cast)
    # A second CI officer sees every flagged case, but this one's review is another officer's.
    Case.objects.filter(pk=case.pk).update(flagged=True)
    requester = signed_in(make_staff("cora-ci", Role.CI_OFFICER))
    response = browser_post(requester, reverse("vetting:unseal", args=[case.pk]), {"reason": "Verify the passport"})
    request = OpeningRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("openings:held", args=[request.pk])
    held = requester.get(response["Location"], secure=True).content.decode()
    assert "Held for approval" in held and "Verify the passport" in held
    # The requester cannot approve his own request in the interface either.
    assert requester.get(reverse("openings:review", args=[request.pk]), secure=True).status_code == 403
    approver = signed_in(sue)
    assert (
        reverse("openings:review", args=[request.pk])
        in approver.get(reverse("access:my-work"), secure=True).content.decode()
    )
    decided = browser_post(
        approver, reverse("openings:review", args=[request.pk]), {"decision": "approve"}, page="/work/"
    )
    assert decided.status_code == 302 and OpeningRequest.objects.get().state == openings.APPROVED
    work = requester.get(reverse("access:my-work"), secure=True).content.decode()
    assert "Approved openings" in work and reverse("openings:held", args=[request.pk]) in work
    shown = browser_post(requester, reverse("vetting:unseal", args=[case.pk]), {"reason": "Verify the passport"})
    assert shown.status_code == 200 and OpeningRequest.objects.get().state == openings.USED


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.SECURITY_OFFICER])
def test_only_a_security_officer_sees_the_requests(role: str, make_staff: MakeStaff) -> None:
    client = signed_in(make_staff(f"not-sec-{role}", role))
    assert client.get(reverse("openings:list"), secure=True).status_code == 403


def test_another_persons_held_page_is_not_found(
    submit: Submit, vetting_cast: Cast, officers: tuple[Staff, Staff]
) -> None:
    case = start(submit(), vetting_cast)
    with pytest.raises(openings.OpeningHeld) as held:
        open_as(officers[0], case)
    other = signed_in(vetting_cast.investigator)
    assert other.get(reverse("openings:held", args=[held.value.request.pk]), secure=True).status_code == 404


# --- traceable views ------------------------------------------------------------------------------


def test_a_document_picture_carries_the_viewers_account_and_the_time_in_its_pixels(
    submit: Submit, vetting_cast: Cast
) -> None:
    import io

    from PIL import Image, ImageChops

    from legionary.identity.services import document_picture, document_store, documents_unseal
    from tests.identity import files

    case, _check = assigned_case(submit, vetting_cast)
    document = document_store(person=case.person, source=io.BytesIO(files.pdf(1)))
    investigator = vetting_cast.investigator
    actor = Actor(investigator.get_username(), investigator)
    opening = documents_unseal(person=case.person, actor=actor, reason="Compare the passport scan")
    url = reverse("vetting:document-page", args=[case.pk, document.id, opening.entry, 0])
    before = timezone.now()
    served = signed_in(investigator).get(url, secure=True)
    after = timezone.now()
    assert served.status_code == 200 and served["Content-Type"] == "image/png"

    def picture(text: str | None) -> bytes:
        return document_picture(document=document, actor=actor, opening=opening.entry, page=0, watermark_text=text)

    plain = Image.open(io.BytesIO(picture(None))).convert("RGB")
    shown = Image.open(io.BytesIO(served.content)).convert("RGB")
    difference = ImageChops.difference(plain, shown)
    assert difference.getbbox() is not None  # the mark is in the pixels
    assert max(high for _low, high in difference.getextrema()) < 128  # and faint
    # Exactly this viewer and this minute: the served picture is the one marked with them.
    expected = {picture(openings.watermark_text(investigator.get_username(), moment)) for moment in (before, after)}
    assert served.content in expected
    assert picture(openings.watermark_text("someone-else", before)) != served.content


def test_a_page_showing_an_identity_carries_the_viewer_and_the_time(submit: Submit, vetting_cast: Cast) -> None:
    case, _check = assigned_case(submit, vetting_cast)
    client = signed_in(vetting_cast.investigator)
    case_page = client.get(reverse("vetting:case", args=[case.pk]), secure=True).content.decode()
    assert 'id="watermark"' not in case_page  # nothing opened, nothing to mark
    shown = browser_post(client, reverse("vetting:unseal", args=[case.pk]), {"reason": "Confirm the passport"})
    page = shown.content.decode()
    assert shown.status_code == 200 and 'id="watermark"' in page
    mark = openings.watermark_text(vetting_cast.investigator.get_username())
    assert mark.split(" · ")[0] in page and " UTC" in page and 'aria-hidden="true"' in page
