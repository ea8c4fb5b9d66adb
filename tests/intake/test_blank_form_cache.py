"""The public form's blank fields are rendered once per process and language (a surge of applicants
mostly views the blank form); a filled-in form is never cached nor served from the cache."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from legionary.identity.models import Person

pytestmark = pytest.mark.django_db

TYPED = "Quirinustypedname"


def _get(lang: str) -> str:
    return Client().get(f"/apply/?lang={lang}", secure=True, HTTP_ORIGIN="https://testserver").content.decode()


def test_what_an_applicant_typed_is_never_shown_to_the_next_visitor() -> None:
    cache.clear()
    client = Client(enforce_csrf_checks=True)
    page = client.get("/apply/?lang=en", secure=True, HTTP_ORIGIN="https://testserver").content
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    refused = client.post(
        "/apply/?lang=en",
        {"given_names": TYPED, "date_of_birth": "1988-02-30", "csrfmiddlewaretoken": token.group(1).decode()},
        secure=True,
        HTTP_ORIGIN="https://testserver",
    )
    assert refused.status_code == 400
    # The refused form shows the applicant's own input back (it was not taken from the cache)...
    assert TYPED in refused.content.decode() and 'id="id_date_of_birth_error"' in refused.content.decode()
    # ...and the next visitor's blank form holds none of it.
    assert TYPED not in _get("en")
    assert Person.objects.count() == 0


def test_each_language_gets_its_own_blank_form() -> None:
    cache.clear()
    english, ukrainian = _get("en"), _get("uk")
    assert 'lang="en"' in english and 'lang="uk"' in ukrainian
    legend = re.compile(r"<legend>([^<]+)</legend>")
    assert legend.findall(english) != legend.findall(ukrainian)
    assert legend.findall(_get("uk")) == legend.findall(ukrainian)
