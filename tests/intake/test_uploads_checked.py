"""Uploads on the public form are decoded in full before anything is stored (issue 20, finding 4):
what the outside probe sent is refused with a sentence in the applicant's language, and nothing of
the application is kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from legionary.identity.models import Person, SealedDocument
from tests.identity import files
from tests.intake.test_public_pages import FORM, csrf_client

pytestmark = pytest.mark.django_db(transaction=True)


def _upload_files() -> set[Path]:
    root = Path(settings.LEGIONARY_UPLOADS)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _post(name: str, content: bytes, content_type: str, lang: str = "en") -> tuple[int, str]:
    client, token = csrf_client(lang)
    upload = SimpleUploadedFile(name, content, content_type=content_type)
    response = client.post(
        f"/apply/?lang={lang}",
        {**FORM, "lang": lang, "upload_1": upload, "csrfmiddlewaretoken": token},
        secure=True,
        HTTP_ORIGIN="https://testserver",
    )
    return response.status_code, response.content.decode()


@pytest.mark.parametrize(
    ("name", "content", "content_type", "says"),
    [
        ("scan.png", files.png_header_then_html(), "image/png", "damaged or incomplete"),
        ("scan.png", files.png_then_html(), "image/png", "not the kind of file it says it is"),
        ("scan.pdf", files.HTML, "application/pdf", "not the kind of file it says it is"),
        ("scan.html", files.pdf_holding_html(), "text/html", "not a PDF, JPEG or PNG file"),
        ("scan.pdf", files.pdf_bomb(), "application/pdf", "too large once opened"),
        ("scan.png", files.png_bomb(), "image/png", "too large once opened"),
        ("scan.pdf", files.truncated_pdf(), "application/pdf", "damaged or incomplete"),
    ],
    ids=["png-header-then-html", "png-polyglot", "html-as-pdf", "pdf-as-html", "pdf-bomb", "png-bomb", "truncated"],
)
def test_an_upload_that_does_not_decode_as_it_claims_is_refused_and_nothing_is_kept(
    name: str, content: bytes, content_type: str, says: str
) -> None:
    before = _upload_files()
    status, page = _post(name, content, content_type)
    assert status == 400 and says in page
    assert 'role="alert"' in page or "error-summary" in page or "error" in page
    assert not Person.objects.exists() and not SealedDocument.objects.exists()
    assert _upload_files() == before


def test_the_refusal_is_in_the_applicants_language() -> None:
    status, page = _post("scan.pdf", files.pdf_bomb(), "application/pdf", lang="ru")
    assert status == 400 and "слишком велик" in page


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("photo.jpg", files.jpeg(1200, 900, exif_text="a phone"), "image/jpeg"),
        ("scan.png", files.png(), "image/png"),
        ("scan.pdf", files.pdf(3), "application/pdf"),
    ],
    ids=["jpeg", "png", "pdf"],
)
def test_a_valid_scan_is_accepted_and_stored_as_its_real_type(name: str, content: bytes, content_type: str) -> None:
    status, page = _post(name, content, content_type)
    # The whole form sent at once answers 303 to the confirmation page (post/redirect/get).
    assert status == 303, page[:2000]
    assert SealedDocument.objects.get().content_type == content_type
