"""Signing in: password + TOTP in one step, no hint about which part was wrong, lockout, enrolment."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from legionary.access.models import Staff
from legionary.audit.models import Entry

PASSWORD = "correct horse battery staple"
FAILED = "Sign-in failed. Check your username, password and code, and try again."


def current_code(staff: Staff) -> str:
    device = TOTPDevice.objects.get(user=staff, confirmed=True)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def sign_in(client: Client, username: str, password: str, code: str = "") -> object:
    return client.post("/login/", {"username": username, "password": password, "code": code}, secure=True)


@pytest.fixture
def alice(make_staff) -> Staff:  # type: ignore[no-untyped-def]
    return make_staff("alice", "intake_officer")


@pytest.mark.django_db
def test_password_and_current_code_sign_in_and_land_on_my_work(alice: Staff) -> None:
    client = Client()
    response = sign_in(client, "alice", PASSWORD, current_code(alice))
    assert response.status_code == 302 and response["Location"] == "/work/"  # type: ignore[attr-defined]
    work = client.get("/work/", secure=True)
    assert work.status_code == 200
    assert b"My work" in work.content and b"Intake officer" in work.content
    assert Entry.objects.filter(actor="alice", action="login.success").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["password", "code", "both", "user"])
def test_a_wrong_part_gives_the_same_answer_and_is_recorded(alice: Staff, what: str) -> None:
    code = current_code(alice)
    wrong_code = f"{(int(code) + 1) % 1000000:06d}"
    username = "nobody" if what == "user" else "alice"
    password = "wrong password" if what in ("password", "both") else PASSWORD
    client = Client()
    response = sign_in(client, username, password, wrong_code if what in ("code", "both") else code)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert FAILED in response.content.decode()  # type: ignore[attr-defined]
    assert client.get("/work/", secure=True).status_code == 302
    assert Entry.objects.filter(action="login.failure", actor=username).count() == 1


@pytest.mark.django_db
def test_a_code_cannot_be_used_twice(alice: Staff) -> None:
    code = current_code(alice)
    assert sign_in(Client(), "alice", PASSWORD, code).status_code == 302  # type: ignore[attr-defined]
    replay = sign_in(Client(), "alice", PASSWORD, code)
    assert replay.status_code == 200 and FAILED in replay.content.decode()  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_a_password_alone_does_not_sign_in_an_enrolled_account(alice: Staff) -> None:
    client = Client()
    response = sign_in(client, "alice", PASSWORD, "")
    assert FAILED in response.content.decode()  # type: ignore[attr-defined]
    assert client.get("/work/", secure=True).status_code == 302


@pytest.mark.django_db
def test_five_failures_lock_the_account_even_with_the_right_password_after(alice: Staff) -> None:
    for _ in range(5):
        sign_in(Client(), "alice", "wrong password", "000000")
    response = sign_in(Client(), "alice", PASSWORD, current_code(alice))
    assert response.status_code == 429  # type: ignore[attr-defined]
    assert "Too many failed sign-in attempts" in response.content.decode()  # type: ignore[attr-defined]
    assert Entry.objects.filter(action="login.success").count() == 0


@pytest.mark.django_db
def test_guessing_codes_with_the_right_password_locks_the_account_too(alice: Staff) -> None:
    for n in range(5):
        sign_in(Client(), "alice", PASSWORD, f"{n:06d}")
    response = sign_in(Client(), "alice", PASSWORD, current_code(alice))
    assert response.status_code == 429  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_first_sign_in_enrols_an_authenticator_and_shows_recovery_codes_once(make_staff) -> None:  # type: ignore[no-untyped-def]
    staff = Staff.objects.create_user(username="newbie", password=PASSWORD)
    staff.grants.create(role="auditor")
    client = Client()
    response = sign_in(client, "newbie", PASSWORD, "")
    assert response["Location"] == "/login/enrol/"  # type: ignore[index]
    page = client.get("/login/enrol/", secure=True).content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page)
    assert secret is not None
    qr = client.get("/login/enrol/qr.svg", secure=True)
    assert qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content
    device = TOTPDevice.objects.get(user=staff)
    code = f"{totp(device.bin_key):06d}"
    done = client.post("/login/enrol/", {"code": code}, secure=True)
    codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", done.content.decode())
    assert len(codes) == 10
    assert client.get("/work/", secure=True).status_code == 200
    # A recovery code signs in once.
    assert sign_in(Client(), "newbie", PASSWORD, codes[0]).status_code == 302  # type: ignore[attr-defined]
    assert FAILED in sign_in(Client(), "newbie", PASSWORD, codes[0]).content.decode()  # type: ignore[attr-defined]
    assert StaticToken.objects.filter(device__user=staff).count() == 9
    assert Entry.objects.filter(actor="newbie", action="staff.second_factor_enrolled").exists()


@pytest.mark.django_db
def test_enrolment_is_not_reachable_without_a_password_step() -> None:
    assert Client().get("/login/enrol/", secure=True)["Location"] == "/login/"
    assert Client().get("/login/enrol/qr.svg", secure=True).status_code == 404


@pytest.mark.django_db
def test_a_huge_password_is_refused_before_hashing(alice: Staff) -> None:
    response = sign_in(Client(), "alice", "x" * 5000, "")
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert Entry.objects.filter(action="login.failure").count() == 0


@pytest.mark.django_db
def test_sign_out_needs_a_post_and_ends_the_session(alice: Staff) -> None:
    client = Client()
    sign_in(client, "alice", PASSWORD, current_code(alice))
    assert client.get("/logout/", secure=True).status_code == 405
    client.post("/logout/", secure=True)
    assert client.get("/work/", secure=True).status_code == 302
