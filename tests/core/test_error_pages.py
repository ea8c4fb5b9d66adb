"""Error pages say what happened in general words and never echo what the request carried."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path

from legionary.access.policy import public
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db

# Something an attacker would like to see reflected into a page.
MARKER = "zq<script>alert(7)</script>"
QUOTED = "zq%3Cscript%3Ealert(7)%3C/script%3E"


def assert_not_echoed(body: bytes) -> None:
    text = body.decode()
    assert "zq" not in text and "alert(7)" not in text


@public
def boom(request: object) -> None:
    raise RuntimeError(MARKER)


# A URL configuration for the 500 test only: one public view that fails, and our error handler.
urlpatterns = [path("boom/", boom)]
handler500 = "legionary.views.server_error"


def test_a_missing_page_answers_404_without_echoing_the_path_or_query() -> None:
    response = Client().get(f"/{QUOTED}/?q={QUOTED}", secure=True)
    assert response.status_code == 404
    assert b"Not found" in response.content
    assert_not_echoed(response.content)


def test_a_refused_page_answers_403_without_echoing_the_query(make_staff) -> None:  # type: ignore[no-untyped-def]
    roleless = make_staff("roleless")
    response = signed_in(roleless).get(f"/work/?q={QUOTED}", secure=True)
    assert response.status_code == 403
    assert b"Your account may not open this page." in response.content
    assert_not_echoed(response.content)


def test_a_form_without_its_csrf_token_answers_our_403_page_without_echoing_the_form() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": MARKER, "password": MARKER}, secure=True)
    assert response.status_code == 403
    assert b"The form had expired" in response.content
    # Django's own CSRF page uses inline styles, which our CSP would block.
    assert b"<style" not in response.content and b"CSRF verification failed" not in response.content
    assert_not_echoed(response.content)


def test_a_host_that_is_not_allowed_answers_400_without_echoing_it() -> None:
    response = Client().get("/login/", secure=True, headers={"host": "zq-evil.example"})
    assert response.status_code == 400
    assert b"zq-evil" not in response.content


@pytest.mark.urls("tests.core.test_error_pages")
def test_a_failing_view_answers_500_without_echoing_the_error_or_the_query() -> None:
    response = Client(raise_request_exception=False).get(f"/boom/?q={QUOTED}", secure=True)
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert_not_echoed(response.content)
