"""A staff sign-in ends after 30 minutes without a request and 8 hours after it began (ASVS V7.3).

The clock is moved by stamping the session as if its last request, or its sign-in, were that long
ago; the middleware reads the real time.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from legionary.access.models import Staff
from legionary.access.sessions import SEEN_AT, SEEN_EVERY, SIGNED_IN_AT
from legionary.audit.models import Entry
from tests.access.test_login import PASSWORD, current_code, sign_in
from tests.core.instance import legionary_env, run_legionary


@pytest.fixture
def alice(make_staff) -> Staff:  # type: ignore[no-untyped-def]
    return make_staff("alice", "intake_officer")


def _signed_in(alice: Staff) -> Client:
    client = Client()
    response = sign_in(client, "alice", PASSWORD, current_code(alice))
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert client.get("/work/", secure=True).status_code == 200
    return client


def _stamp(client: Client, **ago: int) -> None:
    session = client.session
    now = int(time.time())
    for key, seconds in ago.items():
        session[{"seen": SEEN_AT, "signed_in": SIGNED_IN_AT}[key]] = now - seconds
    session.save()


@pytest.mark.django_db
def test_a_sign_in_stamps_its_start_and_last_request(alice: Staff) -> None:
    client = _signed_in(alice)
    now = int(time.time())
    assert 0 <= now - client.session[SIGNED_IN_AT] < SEEN_EVERY
    assert 0 <= now - client.session[SEEN_AT] < SEEN_EVERY


@pytest.mark.django_db
def test_a_session_idle_past_the_limit_is_signed_out_and_the_sign_in_page_says_why(alice: Staff) -> None:
    client = _signed_in(alice)
    _stamp(client, seen=settings.LEGIONARY_SESSION_IDLE_SECONDS + 1)

    response = client.get("/work/", secure=True, follow=True)
    assert "/login/?next=" in response.redirect_chain[-1][0]
    assert "You were signed out after 30 minutes without activity." in response.content.decode()
    assert Entry.objects.filter(actor="alice", action="login.logout").count() == 1
    # Gone for good: the session was flushed, not just refused once.
    assert client.get("/work/", secure=True).status_code == 302
    assert client.get("/api/v1/vetting/cases", secure=True).status_code != 200


@pytest.mark.django_db
def test_a_request_within_the_idle_limit_keeps_the_session_and_moves_its_last_request_time(alice: Staff) -> None:
    client = _signed_in(alice)
    _stamp(client, seen=settings.LEGIONARY_SESSION_IDLE_SECONDS - 60)

    assert client.get("/work/", secure=True).status_code == 200
    assert int(time.time()) - client.session[SEEN_AT] < SEEN_EVERY
    assert not Entry.objects.filter(actor="alice", action="login.logout").exists()


@pytest.mark.django_db
def test_a_busy_session_still_ends_at_its_absolute_limit(alice: Staff) -> None:
    client = _signed_in(alice)
    _stamp(client, signed_in=settings.SESSION_COOKIE_AGE + 1, seen=1)

    response = client.get("/work/", secure=True, follow=True)
    assert "/login/?next=" in response.redirect_chain[-1][0]
    assert "Your sign-in reached its time limit." in response.content.decode()


@pytest.mark.django_db
def test_requests_less_than_a_minute_apart_do_not_rewrite_the_session(alice: Staff) -> None:
    client = _signed_in(alice)
    _stamp(client, seen=10)
    before = client.session[SEEN_AT]

    assert client.get("/work/", secure=True).status_code == 200
    assert client.session[SEEN_AT] == before


@pytest.mark.django_db
def test_a_session_without_stamps_is_stamped_rather_than_trusted_forever(alice: Staff) -> None:
    client = _signed_in(alice)
    session = client.session
    del session[SEEN_AT], session[SIGNED_IN_AT]
    session.save()

    assert client.get("/work/", secure=True).status_code == 200
    assert int(time.time()) - client.session[SIGNED_IN_AT] < SEEN_EVERY


@pytest.mark.django_db
def test_an_anonymous_visitor_gets_no_session_from_the_timeouts() -> None:
    client = Client()
    assert client.get("/apply/", secure=True).status_code == 200
    assert SEEN_AT not in client.session and SIGNED_IN_AT not in client.session


@pytest.mark.parametrize("name", ["LEGIONARY_SESSION_IDLE_SECONDS", "LEGIONARY_SESSION_SECONDS"])
def test_a_limit_under_a_minute_is_refused_at_start_with_a_sentence(tmp_path: Path, name: str) -> None:
    done = run_legionary(legionary_env(tmp_path, **{name: "30"}), "check")
    assert done.returncode != 0
    assert "must be 60 or more" in done.stderr and "Traceback" not in done.stderr
