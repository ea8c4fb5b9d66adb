"""The staff language navigation: plain links that set the language cookie and come back."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_language_link_sets_the_cookie_and_returns_to_the_page() -> None:
    client = Client()
    response = client.get("/language/uk/?next=/login/", secure=True)
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "uk"
    page = client.get("/login/", secure=True)
    assert '<html lang="uk"' in page.content.decode()


def test_a_language_outside_the_staff_languages_is_not_found() -> None:
    response = Client().get("/language/ka/?next=/login/", secure=True)
    assert response.status_code == 404
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_the_switch_never_sends_the_browser_to_another_site(target: str) -> None:
    response = Client().get("/language/ru/", {"next": target}, secure=True)
    assert response.status_code == 302 and response["Location"] == "/"


def test_every_staff_page_offers_each_staff_language_in_its_own_language() -> None:
    html = Client().get("/login/", secure=True).content.decode()
    assert 'lang="en" aria-current="true"' not in html  # the current one is text, marked current
    assert '<span class="govuk-language-navigation__text" aria-current="true" lang="en">English</span>' in html
    for code, name in (("uk", "Українська"), ("ru", "Русский")):
        assert f'lang="{code}" hreflang="{code}">{name}</a>' in html
