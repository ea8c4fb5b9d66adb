"""The public form and status page: every language, errors next to fields, uploads encrypted, no leak."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, override_settings

from legionary.identity.models import Person, SealedDocument
from legionary.vetting.models import Case
from tests.intake.helpers import PDF, STEP_ANSWERS, walk_steps

pytestmark = pytest.mark.django_db(transaction=True)

FORM: dict[str, Any] = {
    "legion": "geo",
    "given_names": "Quirinus Vakhtangovich",
    "family_name": "Zhgentiklashvili",
    "date_of_birth": "1988-11-02",
    "place_of_birth": "Ozurgetiburg",
    "citizenships": "GE, UA",
    "phone": "+995 599 55 01 77",
    "email": "quirinus.zhg@example.net",
    "doc_1_kind": "passport",
    "doc_1_country": "GE",
    "doc_1_number": "GQ4471902",
    "kin_1_name": "Tinatin Zhgentiklashvili",
    "kin_1_relation": "sister",
    "military_experience": "contract",
    "years_of_service": "4",
    "skills": ["mortar", "medic"],
    "motivation": "To defend.",
    "consent": "on",
}
SECRETS = [
    "Quirinus",
    "Vakhtangovich",
    "Zhgentiklashvili",
    "Ozurgetiburg",
    "+995 599 55 01 77",
    "599550177",
    "quirinus.zhg@example.net",
    "GQ4471902",
    "Tinatin",
]


def csrf_client(lang: str = "en") -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/apply/?lang={lang}", secure=True, HTTP_ORIGIN="https://testserver")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token is not None
    return client, token.group(1).decode()


@pytest.mark.parametrize(
    ("lang", "phrase"),
    [
        ("en", "Apply to the legion"),
        ("uk", "Заява до легіону"),
        ("ru", "Заявление в легион"),
        ("be", "Заява ў легіён"),
        ("ka", "განაცხადი ლეგიონში"),
    ],
)
def test_the_form_is_translated_into_each_public_language(lang: str, phrase: str) -> None:
    response = Client().get(f"/apply/?lang={lang}", secure=True, HTTP_ORIGIN="https://testserver")
    assert response.status_code == 200
    assert phrase in response.content.decode()
    assert re.search(rf'<html lang="{lang}"[ >]', response.content.decode())


def test_the_form_sets_no_cookie_but_csrf_and_has_no_staff_navigation() -> None:
    response = Client().get("/apply/", secure=True, HTTP_ORIGIN="https://testserver")
    html = response.content.decode()
    assert set(response.cookies) <= {settings.CSRF_COOKIE_NAME}
    # No staff navigation or account: the one way to the staff side is the footer's small link.
    assert "Sign out" not in html and "/logout/" not in html
    assert re.findall(r'<a [^>]*href="/login/[^"]*"[^>]*>', html) == [
        '<a class="govuk-link" href="/login/" id="staff-sign-in">'
    ]
    # No inline script or style: every script is our own static module.
    assert re.findall(r"<script[^>]*>", html) == ['<script type="module" src="/static/legionary/init.js">']
    assert "style=" not in html


def test_every_input_on_every_page_of_the_form_has_a_label() -> None:
    client, token = csrf_client()
    pages = walk_steps(client, token, STEP_ANSWERS, lang="en")
    for url, html in pages.items():
        ids = set(re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html))
        labelled = set(re.findall(r'<label [^>]*\bfor="([^"]+)"', html))
        assert ids and ids <= labelled, url


def test_a_bad_date_is_reported_next_to_its_field_and_nothing_is_stored() -> None:
    client, token = csrf_client()
    response = client.post(
        "/apply/?lang=en",
        {**FORM, "date_of_birth": "1988-02-30", "csrfmiddlewaretoken": token},
        secure=True,
        HTTP_ORIGIN="https://testserver",
    )
    # Then: the page with the date of birth, its message at the field and in the summary at the top.
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_date_of_birth_error"' in html
    assert re.search(r'id="form-errors".*<a href="#id_date_of_birth_day">Enter a real date', html, re.S)
    # And: everything typed is still there, the date's parts included.
    assert 'value="Zhgentiklashvili"' in html and 'value="30"' in html and 'value="1988"' in html
    assert Person.objects.count() == 0


def test_without_consent_the_application_is_refused() -> None:
    client, token = csrf_client()
    data = {k: v for k, v in FORM.items() if k != "consent"}
    response = client.post(
        "/apply/", {**data, "csrfmiddlewaretoken": token}, secure=True, HTTP_ORIGIN="https://testserver"
    )
    assert response.status_code == 400 and 'id="id_consent_error"' in response.content.decode()
    assert Person.objects.count() == 0


def test_a_form_without_the_csrf_token_is_refused() -> None:
    response = Client(enforce_csrf_checks=True).post("/apply/", FORM, secure=True, HTTP_ORIGIN="https://testserver")
    assert response.status_code == 403


def _contains_word(data: bytes, needle: str) -> bool:
    """Whether ``needle`` occurs in ``data`` as a whole word, in UTF-8 or UTF-16 (either byte order).

    A whole word, because short names are parts of ordinary words ("Oleg" in "rolegrant", "Petr"
    in the call sign "Petrel") and those are not leaks.
    """
    for codec, width in (("utf-8", 1), ("utf-16-le", 2), ("utf-16-be", 2)):
        encoded = needle.encode(codec)
        start = data.find(encoded)
        while start != -1:
            before = data[max(0, start - width) : start]
            after = data[start + len(encoded) : start + len(encoded) + width]
            if not (_is_letter(before, codec) or _is_letter(after, codec)):
                return True
            start = data.find(encoded, start + 1)
    return False


def _is_letter(unit: bytes, codec: str) -> bool:
    if not unit:
        return False
    if codec == "utf-8":
        return unit.isalnum() or unit[0] >= 0x80
    try:
        return unit.decode(codec).isalnum()
    except UnicodeDecodeError:
        return False


def _scan_for(secrets: list[str]) -> list[tuple[str, str]]:
    home = Path(settings.LEGIONARY_HOME)
    paths = [home / name for name in ("legionary.sqlite3", "legionary.sqlite3-wal", "legionary.sqlite3-shm")]
    paths += [p for p in (home / "uploads").rglob("*") if p.is_file()] if (home / "uploads").exists() else []
    paths += [p for p in (home / "logs").rglob("*") if p.is_file()] if (home / "logs").exists() else []
    if connection.vendor == "sqlite":
        paths.append(Path(str(connection.settings_dict["NAME"])))
    hits = []
    for path in paths:
        if not path.exists() or not path.is_file():
            continue
        data = path.read_bytes()
        for secret in secrets:
            if any(_contains_word(data, needle) for needle in {secret, secret.lower()}):
                hits.append((str(path), secret))
    return hits


def _database_dump() -> bytes:
    """Every value of every table, for databases whose files the test cannot read (PostgreSQL, in-memory SQLite)."""
    out = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 — table names from introspection
            for row in cursor.fetchall():
                out.append(repr(row).encode("utf-8"))
                out.extend(bytes(v) for v in row if isinstance(v, (bytes, memoryview)))
    return b"\n".join(out)


def _assert_no_plaintext(secrets: list[str]) -> None:
    assert _scan_for(secrets) == []
    dump = _database_dump()
    leaked = [secret for secret in secrets if any(_contains_word(dump, n) for n in {secret, secret.lower()})]
    assert leaked == []


def test_a_submission_with_a_scan_gives_a_receipt_and_leaves_no_plaintext_anywhere() -> None:
    client, token = csrf_client("ka")
    scan = SimpleUploadedFile(
        "passport.pdf", PDF + b"Quirinus Zhgentiklashvili GQ4471902", content_type="application/pdf"
    )
    response = client.post(
        "/apply/?lang=ka",
        {**FORM, "lang": "ka", "upload_1": scan, "csrfmiddlewaretoken": token},
        secure=True,
        HTTP_ORIGIN="https://testserver",
    )
    assert response.status_code == 303, response.content.decode()[:2000]
    assert response["Location"] == "/apply/sent/?lang=ka"
    confirmation = client.get(response["Location"], secure=True)
    receipt = re.search(r'<strong id="receipt" lang="en"[^>]*>([a-z ]+)</strong>', confirmation.content.decode())
    assert receipt is not None and len(receipt.group(1).split()) == 7
    person = Person.objects.get()
    assert person.language == "ka" and Case.objects.get(person=person).channel == "form"
    assert SealedDocument.objects.filter(person=person).count() == 1
    _assert_no_plaintext(SECRETS)
    status = client.post(
        "/status/?lang=ka",
        {"receipt": receipt.group(1), "lang": "ka", "csrfmiddlewaretoken": token},
        secure=True,
        HTTP_ORIGIN="https://testserver",
    )
    assert status.status_code == 303
    assert 'data-state="received"' in client.get(status["Location"], secure=True).content.decode()


SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "dupes-sample.jsonl"


@pytest.mark.skipif(not SAMPLE.exists(), reason="the shared sample is not beside the checkout")
def test_importing_the_sample_leaves_no_plaintext_anywhere() -> None:
    import io
    import json

    from django.core.management import call_command

    call_command("import", str(SAMPLE), "--json", stdout=io.StringIO())
    secrets: set[str] = set()
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        identity = json.loads(line)["identity"]
        secrets.update(v for k, v in identity.items() if k in ("given_names", "family_name", "phone", "email") and v)
        secrets.update(d["number"] for d in identity.get("documents") or [])
    # Values shorter than 4 characters would match random ciphertext bytes by chance.
    assert Person.objects.count() == 234
    _assert_no_plaintext(sorted(s for s in secrets if len(s) >= 4))


def test_wrong_receipts_on_the_status_page_are_limited() -> None:
    from legionary.intake.services import RECEIPT_FAILURE_LIMIT

    client, token = csrf_client()
    for _ in range(RECEIPT_FAILURE_LIMIT):
        wrong = client.post(
            "/status/",
            {"receipt": "zoo " * 7, "csrfmiddlewaretoken": token},
            secure=True,
            HTTP_ORIGIN="https://testserver",
        )
        assert wrong.status_code == 404 and 'id="id_receipt_error"' in wrong.content.decode()
    limited = client.post(
        "/status/", {"receipt": "zoo " * 7, "csrfmiddlewaretoken": token}, secure=True, HTTP_ORIGIN="https://testserver"
    )
    assert limited.status_code == 429


def test_a_document_country_not_on_the_list_is_refused_at_its_field() -> None:
    client, token = csrf_client()
    for wrong in ("XX", "ge"):
        response = client.post(
            "/apply/?lang=en",
            {**FORM, "doc_1_country": wrong, "csrfmiddlewaretoken": token},
            secure=True,
            HTTP_ORIGIN="https://testserver",
        )
        assert response.status_code == 400 and 'id="id_doc_1_country_error"' in response.content.decode()
    assert Person.objects.count() == 0


@override_settings(LEGIONARY_APPLY_LIMIT=0)  # every submission from here is over the hourly limit
def test_every_field_at_once_refused_after_checking_keeps_the_answers_for_the_check_page() -> None:
    client, token = csrf_client()
    response = client.post(
        "/apply/?lang=en", {**FORM, "csrfmiddlewaretoken": token}, secure=True, HTTP_ORIGIN="https://testserver"
    )
    assert response.status_code == 429 and Person.objects.count() == 0
    # Every step counts as done and keeps what was typed; consent is asked again on the check page.
    check = client.get("/apply/check/?lang=en", secure=True)
    assert check.status_code == 200
    html = check.content.decode()
    assert "Zhgentiklashvili" in html and "GQ4471902" in html and "Tinatin Zhgentiklashvili" in html
    assert 'name="consent"' in html and "checked" not in html.split('name="consent"')[1].split(">")[0]
