"""Password policy, initial passwords and sessions, as ASVS 5.0 level 2 asks (docs/asvs.md, V6 and V7)."""

from __future__ import annotations

import string

import pytest
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.test import Client

from legionary.access.models import Staff
from legionary.access.roles import Role
from legionary.access.services import Scope, StaffError, generate_password, staff_add
from tests.access.test_login import current_code, sign_in
from tests.conftest import MakeStaff, signed_in

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def _add(username: str, password: str) -> Staff:
    staff, _ = staff_add(
        username=username, roles=[Role.AUDITOR], scope=Scope.parse("system"), actor="test", password=password
    )
    return staff


def test_passwords_under_twelve_characters_common_or_like_the_username_are_refused() -> None:
    for weak in ["Short1!pass", "q1w2e3r4t5y6", "qwerty123456", "bartholomew-kowalski", "123456789012345"]:
        with pytest.raises(StaffError, match="too weak"):
            _add("bartholomew-kowalski", weak)
    assert not Staff.objects.exists()


def test_long_passwords_of_any_composition_are_accepted_and_checked_exactly_as_typed() -> None:
    passwords = [
        "all lower case words and spaces",
        "Ж" * 64,
        "x" * 12 + " trailing space ",
        string.printable.strip()[:90],
        "パスワードはとても長いです" * 5,
    ]
    for n, password in enumerate(passwords):
        staff = _add(f"user{n}", password)
        assert staff.check_password(password)
        # No truncation, no case folding, no trimming (ASVS V6.2.8).
        assert not staff.check_password(password[:-1]) and not staff.check_password(password.upper() + "!")
        assert not staff.check_password(password.strip() + "#")


def test_a_hundred_character_password_signs_in_through_the_form(make_staff: MakeStaff) -> None:
    long = "a sentence long enough to be a passphrase and then some more words, " * 2
    staff = make_staff("long", Role.AUDITOR, password=long[:100])
    assert sign_in(Client(), "long", long[:100], current_code(staff)).status_code == 302  # type: ignore[attr-defined]


def test_generated_initial_passwords_are_random_and_pass_the_policy() -> None:
    generated = {generate_password() for _ in range(50)}
    assert len(generated) == 50
    for password in generated:
        assert len(password) >= 20  # 15 random bytes, URL-safe base64: 120 bits
        validate_password(password)


def test_signing_in_replaces_the_session_key_and_the_old_one_is_gone(make_staff: MakeStaff) -> None:
    staff = make_staff("alice", Role.AUDITOR)
    client = Client()
    session = client.session
    session["planted"] = "by an attacker"
    session.save()
    before = session.session_key
    assert sign_in(client, "alice", PASSWORD, current_code(staff)).status_code == 302  # type: ignore[attr-defined]
    after = client.cookies["__Host-legionary-session"].value
    assert after != before and not Session.objects.filter(session_key=before).exists()


def test_session_keys_are_long_random_and_distinct(make_staff: MakeStaff) -> None:
    keys = {signed_in(make_staff(f"s{n}", Role.AUDITOR)).cookies["__Host-legionary-session"].value for n in range(20)}
    assert len(keys) == 20
    for key in keys:
        # Django: 32 characters from a 36-letter alphabet, about 165 bits (ASVS V7.2.3 asks 128).
        assert len(key) >= 32 and set(key) <= set(string.ascii_lowercase + string.digits)


def test_a_disabled_account_is_signed_out_on_its_next_request(make_staff: MakeStaff) -> None:
    staff = make_staff("leaver", Role.ADMINISTRATOR)
    client = signed_in(staff)
    assert client.get("/work/", secure=True).status_code == 200
    Staff.objects.filter(pk=staff.pk).update(is_active=False)
    response = client.get("/work/", secure=True)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get("/api/v1/units/", secure=True).status_code == 401


def test_every_signed_in_page_offers_sign_out(make_staff: MakeStaff) -> None:
    client = signed_in(make_staff("ada", Role.ADMINISTRATOR))
    for url in ["/work/", "/units/", "/training/", "/reports/", "/training/curriculum/"]:
        page = client.get(url, secure=True).content.decode()
        assert 'action="/logout/"' in page, url


def test_a_fresh_database_holds_no_account_at_all() -> None:
    # No default administrator: every account is made by `legionary staff add` with a random password.
    assert not Staff.objects.exists()


def test_the_password_field_is_masked_and_lets_password_managers_fill_and_paste() -> None:
    page = Client().get("/login/", secure=True).content.decode()
    field = page[page.index('name="password"') - 200 : page.index('name="password"') + 200]
    assert 'type="password"' in field and 'autocomplete="current-password"' in field
    assert "onpaste" not in page and "oncopy" not in page and 'autocomplete="off"' not in page
