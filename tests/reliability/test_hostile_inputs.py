"""A hostile-input corpus over every field of the public application form, the status form and the
login form: the answer is always a page with errors (200/400) or another 4xx, never a 5xx, and
nothing is half-stored (no person without sealed identity and case, no stray upload file).

Raw bodies are sent where a browser could not (a lone surrogate as ``%ED%A0%80``, NUL bytes), so
the test reaches the parser rather than the test client's encoder.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from legionary.identity.models import Person, SealedDocument, SealedIdentity
from legionary.intake.forms import ApplicationForm
from legionary.vetting.models import Case
from tests.intake.helpers import PDF

pytestmark = pytest.mark.django_db

FORM: dict[str, str] = {
    "legion": "geo",
    "given_names": "Quirinus",
    "family_name": "Zhgentiklashvili",
    "date_of_birth": "1988-11-02",
    "citizenships": "GE",
    "preferred_call_sign": "Zaza",
    "consent": "on",
}
# Text values, each put in turn into every field (as a str, urlencoded as UTF-8 by the client).
TEXT_CORPUS: dict[str, str] = {
    "combining marks": "Z\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308a" * 20,
    "RTL override": "\u202eazaZ\u202c",
    "zero-width joiner": "Za\u200dza\u200b\ufeff",
    "homoglyph call sign": "Z\u0430z\u0430",  # Cyrillic 'а' in "Zaza"
    "NUL byte": "Za\x00za",
    "control characters": "\x1b[31m\x07\x08\r\n\t",
    "path traversal": "../../etc/passwd",
    "markup": "<script>alert(1)</script>\"'&",
    "long line": "Ж" * 6000,
}
# Raw urlencoded fragments that no str can hold: a lone surrogate and an overlong encoding.
RAW_CORPUS: dict[str, str] = {"lone surrogate": "%ED%A0%80", "overlong slash": "%C0%AF", "invalid byte": "%FF%FE"}
BIG = 10 * 1024 * 1024
ORIGIN = "https://testserver"


def _people_are_whole() -> None:
    people = Person.objects.count()
    assert SealedIdentity.objects.count() == people
    assert Case.objects.count() == people
    assert not Person.objects.filter(case__isnull=True).exists()


def _upload_files() -> set[Path]:
    root = Path(settings.LEGIONARY_UPLOADS)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _stored_files_match_rows() -> None:
    files = _upload_files()
    assert not any(p.name.endswith(".part") for p in files)
    assert {p.name for p in files} >= set(SealedDocument.objects.values_list("id", flat=True))


def _token(client: Client, url: str) -> str:
    page = client.get(url, secure=True)
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert found is not None
    return found.group(1).decode()


def _post_raw(client: Client, url: str, body: str) -> Any:
    return client.post(
        url,
        data=body.encode("latin-1"),
        content_type="application/x-www-form-urlencoded",
        secure=True,
        HTTP_ORIGIN=ORIGIN,
    )


def _encoded(fields: dict[str, str], raw: dict[str, str] | None = None) -> str:
    parts = [f"{quote_plus(k)}={quote_plus(v)}" for k, v in fields.items() if k not in (raw or {})]
    parts += [f"{quote_plus(k)}={v}" for k, v in (raw or {}).items()]
    return "&".join(parts)


def _assert_not_a_server_error(response: Any, what: str) -> int:
    """The status, after checking it is no 5xx and no CSRF refusal (the input must reach the form)."""
    assert response.status_code < 500, (what, response.status_code)
    assert response.status_code != 403, (what, "refused before the form: the corpus did not reach it")
    assert b"Traceback" not in response.content, what
    return int(response.status_code)


APPLY_FIELDS = [name for name in ApplicationForm().fields if not name.startswith("upload_")]


@pytest.fixture
def many_submissions(settings: Any) -> None:
    settings.LEGIONARY_APPLY_LIMIT = 1_000_000
    settings.LEGIONARY_RECEIPT_FAILURE_LIMIT = 1_000_000


def test_every_application_field_survives_the_text_and_raw_byte_corpus(many_submissions: None) -> None:
    # Each corpus value goes into every field at once: Django cleans each field on its own, so one
    # request tries every field, and the page shows all of them again (escaping is exercised too).
    client = Client(enforce_csrf_checks=True)
    token = _token(client, "/apply/")
    files_before = _upload_files()
    statuses: Counter[int] = Counter()
    for name, value in TEXT_CORPUS.items():
        body = _encoded({**FORM, **dict.fromkeys(APPLY_FIELDS, value), "csrfmiddlewaretoken": token})
        statuses[_assert_not_a_server_error(_post_raw(client, "/apply/", body), name)] += 1
    for name, raw in RAW_CORPUS.items():
        body = _encoded({**FORM, "csrfmiddlewaretoken": token}, raw=dict.fromkeys(APPLY_FIELDS, raw))
        statuses[_assert_not_a_server_error(_post_raw(client, "/apply/", body), name)] += 1
    assert statuses == Counter({400: len(TEXT_CORPUS) + len(RAW_CORPUS)}), statuses
    assert Person.objects.count() == 0
    assert _upload_files() == files_before
    tried = len(APPLY_FIELDS) * (len(TEXT_CORPUS) + len(RAW_CORPUS))
    print(f"application form: {tried} hostile inputs over {len(APPLY_FIELDS)} fields")


FREE_TEXT = ["given_names", "family_name", "patronymic", "place_of_birth", "address", "motivation", "kin_1_name"]


def test_corpus_values_in_the_free_text_fields_are_stored_whole_or_refused(many_submissions: None) -> None:
    client = Client(enforce_csrf_checks=True)
    token = _token(client, "/apply/")
    statuses: Counter[int] = Counter()
    for name, value in TEXT_CORPUS.items():
        body = _encoded({**FORM, **dict.fromkeys(FREE_TEXT, value), "csrfmiddlewaretoken": token})
        statuses[_assert_not_a_server_error(_post_raw(client, "/apply/", body), name)] += 1
    assert set(statuses) <= {303, 400} and statuses[303] > 0, statuses  # 303: sent, on to the receipt
    _people_are_whole()
    assert Person.objects.count() == statuses[303]


def test_a_homoglyph_call_sign_is_not_taken_for_the_latin_one(many_submissions: None) -> None:
    client = Client(enforce_csrf_checks=True)
    token = _token(client, "/apply/")
    for call_sign in ("Zaza", "Z\u0430z\u0430"):
        body = _encoded({**FORM, "preferred_call_sign": call_sign, "csrfmiddlewaretoken": token})
        response = _post_raw(client, "/apply/", body)
        assert response.status_code in (303, 400), response.status_code
    _people_are_whole()
    call_signs = list(Person.objects.values_list("call_sign", flat=True))
    assert len(call_signs) == len(set(call_signs)), "two people share one call sign"


def test_a_ten_megabyte_field_is_refused_with_a_4xx_and_stores_nothing(many_submissions: None) -> None:
    client = Client(enforce_csrf_checks=True)
    token = _token(client, "/apply/")
    for field in ("given_names", "motivation"):
        response = _post_raw(client, "/apply/", _encoded({**FORM, field: "A" * BIG, "csrfmiddlewaretoken": token}))
        assert 400 <= response.status_code < 500, (field, response.status_code)
    big_receipt = _post_raw(client, "/status/", _encoded({"receipt": "a " * (BIG // 2)}))
    assert 400 <= big_receipt.status_code < 500
    assert Person.objects.count() == 0


@pytest.mark.parametrize(
    ("file_name", "content", "stored"),
    [
        ("../../etc/passwd.pdf", PDF, True),  # a real PDF: stored under a random id, the name ignored
        ("..\\..\\windows\\win.ini.pdf", PDF, True),
        ("scan.png", b"\x89PNG\r\n\x1a\n\x7fELF\x02\x01\x01" + b"\x00" * 64, False),  # PNG magic on an ELF
        ("scan.pdf", b"This is not a PDF, only text that says so.\n", False),
        ("scan.jpg", b"MZ\x90\x00 an executable", False),
        ("nul\x00name.pdf", PDF, True),
        ("\u202egpj.exe", PDF, True),
    ],
)
def test_hostile_uploads_are_refused_or_stored_only_inside_the_upload_store(
    many_submissions: None, file_name: str, content: bytes, stored: bool
) -> None:
    client = Client(enforce_csrf_checks=True)
    token = _token(client, "/apply/")
    files_before = _upload_files()
    upload = SimpleUploadedFile(file_name, content, content_type="application/pdf")
    response = client.post(
        "/apply/", {**FORM, "csrfmiddlewaretoken": token, "upload_1": upload}, secure=True, HTTP_ORIGIN=ORIGIN
    )
    assert response.status_code < 500 and b"Traceback" not in response.content
    _people_are_whole()
    new_files = _upload_files() - files_before
    root = Path(settings.LEGIONARY_UPLOADS).resolve()
    assert all(root in p.resolve().parents for p in new_files)
    if stored:
        assert response.status_code == 303, response.content[:500]
        assert len(new_files) == 1 and SealedDocument.objects.count() == 1
        assert file_name.encode() not in next(iter(new_files)).read_bytes()
    else:
        assert response.status_code == 400
        assert new_files == set() and Person.objects.count() == 0
    _stored_files_match_rows()


def test_the_status_and_login_forms_survive_the_corpus(many_submissions: None, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 1_000_000
    tried = 0
    for url, fields in (("/status/", {"receipt": ""}), ("/login/", {"username": "x", "password": "y", "code": ""})):
        client = Client(enforce_csrf_checks=True)
        token = _token(client, url)
        for field in fields:
            for name, value in TEXT_CORPUS.items():
                body = _encoded({**fields, field: value, "csrfmiddlewaretoken": token})
                _assert_not_a_server_error(_post_raw(client, url, body), f"{url} {field}: {name}")
                tried += 1
            for name, raw in RAW_CORPUS.items():
                body = _encoded({**fields, "csrfmiddlewaretoken": token}, raw={field: raw})
                _assert_not_a_server_error(_post_raw(client, url, body), f"{url} {field}: {name}")
                tried += 1
    print(f"status and login forms: {tried} hostile inputs")
