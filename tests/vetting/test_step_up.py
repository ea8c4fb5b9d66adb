"""Step-up (issue 21): the authenticator code asked again before an opening when the last one is old.

Openings commit their audit entry before decrypting, so these tests are transactional (as
test_openings.py). The session's stamp is moved back in time instead of waiting; codes are the
device's current ones (django-otp's own TOTP).
"""

from __future__ import annotations

import html
import io
import json
import re
import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from legionary.access import stepup
from legionary.access.models import Staff
from legionary.access.roles import Role
from legionary.audit.models import Entry
from legionary.identity import openings
from legionary.identity.models import Opening, OpeningRequest
from legionary.identity.services import Actor, document_store, unseal_identity
from legionary.vetting import services
from legionary.vetting.models import Case
from tests.conftest import MakeStaff, signed_in
from tests.identity import files
from tests.vetting.conftest import Cast, Submit, browser_post, start

pytestmark = pytest.mark.django_db(transaction=True)

REASON = "Confirm the passport number"


def audited(action: str) -> list[dict[str, Any]]:
    return [json.loads(bytes(e.body)) for e in Entry.objects.filter(action=action).order_by("index")]


def assigned_case(submit: Submit, cast: Cast) -> Case:
    case = start(submit(), cast)
    check = case.checks.get(check_type_id="identity")
    services.check_assign(check_id=check.pk, assignee=cast.investigator, actor=cast.intake)
    return case


def code_of(staff: Staff) -> str:
    device = TOTPDevice.objects.get(user=staff)
    return f"{totp(device.bin_key):06d}"


def wrong_code_of(staff: Staff) -> str:
    return f"{(int(code_of(staff)) + 1) % 1_000_000:06d}"


def last_code_minutes_ago(client: Client, minutes: float) -> None:
    session = client.session
    session[stepup.VERIFIED_AT] = int(time.time() - minutes * 60)
    session.save()


def step_up_page(client: Client) -> tuple[str, str, dict[str, str]]:
    """The step-up page: its text, where its form posts, and the fields it carries back."""
    page = client.get(reverse("access:step-up"), secure=True)
    assert page.status_code == 200
    text = page.content.decode()
    form = re.search(r'<form method="post" action="([^"]*)" novalidate id="step-up-form">(.*?)</form>', text, re.S)
    assert form is not None
    hidden = {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2))
    }
    hidden.pop("csrfmiddlewaretoken", None)
    return text, html.unescape(form.group(1)), hidden


def answer_step_up(client: Client, code: str) -> Any:
    """Enters ``code`` on the step-up page, as a browser posts its form."""
    _text, action, hidden = step_up_page(client)
    return browser_post(client, action, {**hidden, stepup.CODE_FIELD: code}, page=reverse("access:step-up"))


@pytest.fixture(autouse=True)
def no_wait_between_codes(settings: Any) -> None:
    """django-otp waits longer after each wrong code; tests of a wrong then right code do not wait
    (the wait itself is tested with it back on)."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def test_an_opening_asks_for_the_code_again_once_the_last_one_is_older_than_the_setting(
    submit: Submit, vetting_cast: Cast
) -> None:
    assert settings.LEGIONARY_STEP_UP_MINUTES == 10  # the documented default
    case = assigned_case(submit, vetting_cast)
    client = signed_in(vetting_cast.investigator)
    last_code_minutes_ago(client, 10.5)
    asked = browser_post(client, reverse("vetting:unseal", args=[case.pk]), {"reason": REASON})
    # Then: the step-up page (post/redirect/get), and nothing opened or even asked of the gate.
    assert asked.status_code == 302 and asked["Location"] == reverse("access:step-up")
    assert not Entry.objects.filter(action="identity.unsealed").exists()
    assert not Opening.objects.exists() and not OpeningRequest.objects.exists()
    text, action, hidden = step_up_page(client)
    assert "Enter your authenticator code again" in text and "Open the identity" in text and REASON in text
    assert action == reverse("vetting:unseal", args=[case.pk]) and hidden == {"reason": REASON}


def test_within_the_setting_the_code_is_not_asked(submit: Submit, vetting_cast: Cast) -> None:
    case = assigned_case(submit, vetting_cast)
    client = signed_in(vetting_cast.investigator)  # signing in checked the code just now
    last_code_minutes_ago(client, 9.5)
    shown = browser_post(client, reverse("vetting:unseal", args=[case.pk]), {"reason": REASON})
    assert shown.status_code == 200 and 'id="identity"' in shown.content.decode()
    assert not Entry.objects.filter(action__startswith="stepup.").exists()


def test_the_right_code_returns_to_the_opening_with_its_reason_and_restarts_the_clock(
    submit: Submit, vetting_cast: Cast
) -> None:
    case = assigned_case(submit, vetting_cast)
    investigator = vetting_cast.investigator
    client = signed_in(investigator)
    last_code_minutes_ago(client, 30)
    browser_post(client, reverse("vetting:unseal", args=[case.pk]), {"reason": REASON})
    shown = answer_step_up(client, code_of(investigator))
    assert shown.status_code == 200 and 'id="identity"' in shown.content.decode()
    assert "{#" not in shown.content.decode()  # the watermark's template comment is not shown as text
    # The opening is the interrupted one, with the reason typed before the code was asked.
    assert [e["details"]["reason"] for e in audited("identity.unsealed")] == [REASON]
    assert audited("stepup.verified")[-1]["details"]["for"] == stepup.IDENTITY
    assert stepup.PENDING not in client.session and not stepup.step_up_due(client.session)
    # And the next opening within the setting asks nothing.
    again = browser_post(client, reverse("vetting:unseal", args=[case.pk]), {"reason": "Second look at the scan"})
    assert again.status_code == 200 and len(audited("identity.unsealed")) == 2


def test_a_wrong_code_opens_nothing_is_audited_and_keeps_the_reason(submit: Submit, vetting_cast: Cast) -> None:
    case = assigned_case(submit, vetting_cast)
    investigator = vetting_cast.investigator
    client = signed_in(investigator)
    last_code_minutes_ago(client, 30)
    browser_post(client, reverse("vetting:unseal", args=[case.pk]), {"reason": REASON})
    refused = answer_step_up(client, wrong_code_of(investigator))
    assert refused.status_code == 302 and refused["Location"] == reverse("access:step-up")
    assert not Entry.objects.filter(action="identity.unsealed").exists() and not Opening.objects.exists()
    failed = audited("stepup.failed")
    assert len(failed) == 1 and failed[0]["actor"] == investigator.get_username()
    assert failed[0]["details"] == {
        "for": stepup.IDENTITY,
        "path": reverse("vetting:unseal", args=[case.pk]),
        "failures": 1,
    }
    assert stepup.step_up_due(client.session)
    # The page says so at the field, with the reason still there to carry back.
    text, _action, hidden = step_up_page(client)
    assert "That code is not right" in text and 'id="form-errors"' in text and hidden == {"reason": REASON}
    # An empty code is no code either.
    assert answer_step_up(client, "")["Location"] == reverse("access:step-up")
    assert "Enter the code your authenticator shows now." in step_up_page(client)[0]
    assert not Entry.objects.filter(action="identity.unsealed").exists()
    # Then the right one opens it, for the reason first given.
    assert answer_step_up(client, code_of(investigator)).status_code == 200
    assert [e["details"]["reason"] for e in audited("identity.unsealed")] == [REASON]


def test_wrong_codes_up_to_the_limit_sign_the_session_out(submit: Submit, vetting_cast: Cast) -> None:
    case = assigned_case(submit, vetting_cast)
    investigator = vetting_cast.investigator
    client = signed_in(investigator)
    last_code_minutes_ago(client, 30)
    browser_post(client, reverse("vetting:unseal", args=[case.pk]), {"reason": REASON})
    for _n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert answer_step_up(client, wrong_code_of(investigator))["Location"] == reverse("access:step-up")
    last = answer_step_up(client, wrong_code_of(investigator))
    assert last.status_code == 302 and last["Location"] == reverse("access:login")
    assert len(audited("stepup.failed")) == settings.AXES_FAILURE_LIMIT
    assert audited("stepup.signed_out")[-1]["actor"] == investigator.get_username()
    # Signed out: the session opens nothing, even with the right code now.
    gone = client.get(reverse("access:my-work"), secure=True)
    assert gone.status_code == 302 and gone["Location"].startswith(reverse("access:login"))
    assert not Entry.objects.filter(action="identity.unsealed").exists()


def test_a_right_code_during_django_otps_wait_is_refused_without_counting(
    submit: Submit, vetting_cast: Cast, settings: Any
) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # a minute's wait after the first wrong code
    settings.OTP_STATIC_THROTTLE_FACTOR = 60
    case = assigned_case(submit, vetting_cast)
    investigator = vetting_cast.investigator
    client = signed_in(investigator)
    last_code_minutes_ago(client, 30)
    browser_post(client, reverse("vetting:unseal", args=[case.pk]), {"reason": REASON})
    answer_step_up(client, wrong_code_of(investigator))
    answer_step_up(client, code_of(investigator))
    assert "Too many wrong codes in a row" in step_up_page(client)[0]
    assert len(audited("stepup.failed")) == 1
    assert not Entry.objects.filter(action="identity.unsealed").exists()


@pytest.mark.parametrize("route", ["vetting:next-of-kin", "vetting:documents"])
def test_next_of_kin_and_documents_ask_for_the_code_too(
    route: str, submit: Submit, vetting_cast: Cast, settings: Any
) -> None:
    settings.LEGIONARY_STEP_UP_MINUTES = 0  # before every opening
    case = assigned_case(submit, vetting_cast)
    document_store(person=case.person, source=io.BytesIO(files.pdf(1)))
    investigator = vetting_cast.investigator
    client = signed_in(investigator)
    asked = browser_post(client, reverse(route, args=[case.pk]), {"reason": REASON})
    assert asked["Location"] == reverse("access:step-up")
    assert not Entry.objects.filter(action__in=["identity.unsealed", "document.unsealed"]).exists()
    _text, action, hidden = step_up_page(client)
    assert action == reverse(route, args=[case.pk]) and hidden == {"reason": REASON}
    assert answer_step_up(client, code_of(investigator)).status_code == 200
    assert Opening.objects.filter(staff=investigator).count() == 1


def test_the_documents_list_itself_asks_nothing(submit: Submit, vetting_cast: Cast, settings: Any) -> None:
    settings.LEGIONARY_STEP_UP_MINUTES = 0
    case = assigned_case(submit, vetting_cast)
    listed = signed_in(vetting_cast.investigator).get(reverse("vetting:documents", args=[case.pk]), secure=True)
    assert listed.status_code == 200


def test_a_session_with_no_record_of_its_code_is_asked(submit: Submit, vetting_cast: Cast) -> None:
    case = assigned_case(submit, vetting_cast)
    client = signed_in(vetting_cast.investigator)
    session = client.session
    del session[stepup.VERIFIED_AT]
    session.save()
    asked = browser_post(client, reverse("vetting:unseal", args=[case.pk]), {"reason": REASON})
    assert asked["Location"] == reverse("access:step-up")


@pytest.mark.parametrize("role", [Role.ADJUDICATOR, Role.INTAKE_OFFICER, Role.INSTRUCTOR, Role.AUDITOR])
def test_the_wrong_role_is_refused_before_any_code_is_asked(
    role: str, submit: Submit, vetting_cast: Cast, make_staff: MakeStaff
) -> None:
    case = assigned_case(submit, vetting_cast)
    client = signed_in(make_staff(f"no-unseal-{role}", role))
    last_code_minutes_ago(client, 30)
    for route in ("vetting:unseal", "vetting:next-of-kin", "vetting:documents"):
        refused = browser_post(
            client, reverse(route, args=[case.pk]), {"reason": REASON, stepup.CODE_FIELD: "1"}, page="/work/"
        )
        assert refused.status_code == 403, route
    assert stepup.PENDING not in client.session
    assert not Entry.objects.filter(action__startswith="stepup.").exists()


def test_approving_a_break_glass_request_asks_for_the_code_and_refusing_does_not(
    submit: Submit, vetting_cast: Cast, make_staff: MakeStaff
) -> None:
    sol = make_staff("sol-security", Role.SECURITY_OFFICER)
    sue = make_staff("sue-security", Role.SECURITY_OFFICER)
    case = start(submit(), vetting_cast)
    held = []
    for _n in range(2):
        with pytest.raises(openings.OpeningHeld) as waiting:
            unseal_identity(person=case.person, actor=Actor(sol.get_username(), sol), reason=REASON)
        held.append(waiting.value.request)
    approver = signed_in(sue)
    last_code_minutes_ago(approver, 30)
    review = reverse("openings:review", args=[held[0].pk])
    asked = browser_post(approver, review, {"decision": "approve", "note": "Checked with his chief"}, page="/work/")
    assert asked["Location"] == reverse("access:step-up")
    assert OpeningRequest.objects.get(pk=held[0].pk).state == openings.PENDING
    text, action, hidden = step_up_page(approver)
    assert "Approve a break-glass request" in text and "Checked with his chief" in text
    assert action == review and hidden == {"decision": "approve", "note": "Checked with his chief"}
    approved = answer_step_up(approver, code_of(sue))
    assert approved.status_code == 302 and approved["Location"] == reverse("openings:list")
    assert OpeningRequest.objects.get(pk=held[0].pk).state == openings.APPROVED
    assert audited("opening.approved")[-1]["details"]["note"] == "Checked with his chief"
    # Refusing opens nothing: no code is asked for it.
    last_code_minutes_ago(approver, 30)
    browser_post(approver, reverse("openings:review", args=[held[1].pk]), {"decision": "refuse"}, page="/work/")
    assert OpeningRequest.objects.get(pk=held[1].pk).state == openings.REFUSED


def test_an_investigator_cannot_reach_the_approval_whatever_his_code(
    submit: Submit, vetting_cast: Cast, make_staff: MakeStaff
) -> None:
    sol = make_staff("sol-security", Role.SECURITY_OFFICER)
    case = start(submit(), vetting_cast)
    with pytest.raises(openings.OpeningHeld) as held:
        unseal_identity(person=case.person, actor=Actor(sol.get_username(), sol), reason=REASON)
    client = signed_in(vetting_cast.investigator)
    review = reverse("openings:review", args=[held.value.request.pk])
    posted = {"decision": "approve", stepup.CODE_FIELD: code_of(vetting_cast.investigator)}
    assert browser_post(client, review, posted, page="/work/").status_code == 403
    assert OpeningRequest.objects.get().state == openings.PENDING


def test_the_page_on_its_own_restarts_the_clock_and_returns_to_my_work(vetting_cast: Cast) -> None:
    client = signed_in(vetting_cast.investigator)
    last_code_minutes_ago(client, 30)
    _text, action, hidden = step_up_page(client)
    assert action == reverse("access:step-up") and hidden == {}
    done = answer_step_up(client, code_of(vetting_cast.investigator))
    assert done.status_code == 302 and done["Location"] == reverse("access:my-work")
    assert not stepup.step_up_due(client.session)


def test_signing_in_with_the_code_starts_the_clock(vetting_cast: Cast) -> None:
    from tests.access.test_login import PASSWORD, current_code, sign_in

    client = Client()
    before = int(time.time())
    signed = sign_in(client, "ian-investigator", PASSWORD, current_code(vetting_cast.investigator))
    assert signed.status_code == 302 and signed["Location"] == reverse("access:my-work")  # type: ignore[attr-defined]
    assert client.session[stepup.VERIFIED_AT] >= before
    assert not stepup.step_up_due(client.session)


@pytest.mark.parametrize("value", ["-1", "ten"])
def test_a_step_up_time_that_is_not_a_whole_number_of_minutes_is_refused_at_start(tmp_path: Any, value: str) -> None:
    from tests.core.instance import legionary_env, run_legionary

    done = run_legionary(legionary_env(tmp_path, LEGIONARY_STEP_UP_MINUTES=value), "check")
    assert done.returncode == 2
    assert "LEGIONARY_STEP_UP_MINUTES must be" in done.stderr and "Traceback" not in done.stderr
