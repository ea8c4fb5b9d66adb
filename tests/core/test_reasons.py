"""Reasons hold visible letters: the one rule of every reason field (``legionary.core.reasons``).

Found from outside: an unseal reason of five zero-width spaces was accepted and logged as a blank.
"""

from __future__ import annotations

import unicodedata

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from legionary.access.models import Staff
from legionary.access.roles import Role
from legionary.audit.models import Entry
from legionary.core.reasons import MIN_LETTERS, visible_reason
from legionary.identity import services
from legionary.identity.services import Actor, IdentityError
from tests.conftest import MakeStaff
from tests.identity.test_services import create

# A security officer opens outside any assignment: break-glass, let through here (issue 21).
pytestmark = pytest.mark.usefixtures("openings_alert_policy")

ZWSP5 = "\u200b" * 5
# Invisible reasons: format characters (zero-width space, joiners, marks of direction, BOM, soft
# hyphen), controls, every kind of space, and letters that render as nothing (Hangul fillers).
INVISIBLE = [
    ZWSP5,
    "\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f",
    "\u0000\u0007\u001b\u007f\u0085",
    "\u00a0\u2003\u3000\u2028\u2029\u202f",
    "\u3164\u3164\u3164\u3164\u3164",
    "  \t\n  ",
]
_blanks = st.characters(categories=["Cf", "Cc", "Zs", "Zl", "Zp"]) | st.sampled_from("\u3164\u115f\u1160\uffa0")


@pytest.mark.parametrize("reason", INVISIBLE)
def test_an_invisible_reason_is_no_reason(reason: str) -> None:
    assert visible_reason(reason) == ""


def test_a_reason_keeps_its_words_and_loses_its_invisible_characters() -> None:
    assert visible_reason("  polygraph\u200b  appointment\u2060\n") == "polygraph appointment"
    assert visible_reason("Перевірка справи") == "Перевірка справи"
    assert visible_reason("12345") == ""  # digits alone say nothing


@settings(max_examples=300, deadline=None)
@given(st.text(_blanks, max_size=40))
def test_any_text_of_format_control_and_space_characters_is_refused(text: str) -> None:
    assert visible_reason(text) == ""


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_what_is_kept_holds_visible_letters_and_nothing_invisible(text: str) -> None:
    reason = visible_reason(text)
    if reason:
        assert reason == reason.strip() and "  " not in reason
        assert not any(unicodedata.category(c)[0] == "C" for c in reason)
        assert sum(unicodedata.category(c).startswith("L") for c in reason) >= MIN_LETTERS
        assert visible_reason(reason) == reason


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(categories=["L"]), min_size=5, max_size=20), st.text(_blanks, max_size=5))
def test_letters_around_invisible_characters_are_a_reason(letters: str, noise: str) -> None:
    kept = visible_reason(noise + letters + noise)
    assume_visible = not any(c in "\u3164\u115f\u1160\uffa0" for c in letters)
    if assume_visible:
        assert kept == letters


@pytest.fixture
def officer(make_staff: MakeStaff) -> Staff:
    return make_staff("sec", Role.SECURITY_OFFICER)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("reason", INVISIBLE)
def test_an_unseal_with_an_invisible_reason_is_refused_and_not_recorded(officer: Staff, reason: str) -> None:
    person = create()
    with pytest.raises(IdentityError, match="reason"):
        services.unseal_identity(person=person, actor=Actor("sec", officer), reason=reason)
    assert not Entry.objects.filter(action="identity.unsealed").exists()


@pytest.mark.django_db(transaction=True)
def test_an_unseal_records_the_reason_without_its_invisible_characters(officer: Staff) -> None:
    person = create()
    services.unseal_identity(person=person, actor=Actor("sec", officer), reason="case\u200b review\u2060 today")
    body = bytes(Entry.objects.get(action="identity.unsealed").body).decode()
    assert "case review today" in body and "\\u200b" not in body and "\u200b" not in body


@pytest.mark.django_db
def test_an_erasure_with_an_invisible_reason_is_refused(officer: Staff) -> None:
    person = create()
    with pytest.raises(IdentityError, match="reason"):
        services.identity_erase(person=person, actor=Actor("sec", officer), reason=ZWSP5)
    person.refresh_from_db()
    assert not person.is_erased


@pytest.mark.django_db
def test_the_erase_command_refuses_an_invisible_reason() -> None:
    person = create()
    with pytest.raises(CommandError, match="reason"):
        call_command("erase", person.pk, "--reason", ZWSP5)
    person.refresh_from_db()
    assert not person.is_erased
