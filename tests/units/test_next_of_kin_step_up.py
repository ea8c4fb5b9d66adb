"""Step-up (issue 21) on a commander's "contact next of kin": the code again before the contacts open."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from legionary.audit.models import Entry
from tests.conftest import signed_in
from tests.units.conftest import Org
from tests.vetting.conftest import browser_post
from tests.vetting.test_step_up import answer_step_up, code_of, last_code_minutes_ago, step_up_page, wrong_code_of

REASON = "Wounded near Kupiansk; inform the family"


@pytest.mark.django_db(transaction=True)
def test_a_commander_enters_his_code_again_before_the_next_of_kin_open(org: Org, settings: Any) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    client = signed_in(org.commander)
    last_code_minutes_ago(client, 11)
    url = reverse("units:next-of-kin", args=[org.inside.pk])
    asked = browser_post(client, url, {"reason": REASON}, page="/work/")
    assert asked.status_code == 302 and asked["Location"] == reverse("access:step-up")
    text, action, hidden = step_up_page(client)
    assert "Open the next of kin" in text and action == url and hidden == {"reason": REASON}
    # A wrong code opens nothing; the right one opens the contacts for the reason first given.
    answer_step_up(client, wrong_code_of(org.commander))
    assert not Entry.objects.filter(action="identity.unsealed").exists()
    shown = answer_step_up(client, code_of(org.commander))
    assert shown.status_code == 200 and "no-store" in shown["Cache-Control"]
    assert Entry.objects.filter(action="identity.unsealed").count() == 1


@pytest.mark.django_db(transaction=True)
def test_another_units_commander_is_not_shown_the_contacts_even_with_his_code(org: Org) -> None:
    client = signed_in(org.other_commander)
    last_code_minutes_ago(client, 11)
    url = reverse("units:next-of-kin", args=[org.inside.pk])
    browser_post(client, url, {"reason": REASON}, page="/work/")
    refused = answer_step_up(client, code_of(org.other_commander))
    assert refused.status_code == 404
    assert not Entry.objects.filter(action="identity.unsealed").exists()
