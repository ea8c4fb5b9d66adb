"""The application form step by step: drafts sealed, "add another", check your answers, sent once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from legionary.identity.models import Person
from legionary.intake import drafts
from legionary.intake.countries import country_choices
from legionary.intake.forms import STEPS, CountrySelects, DateParts
from legionary.intake.models import ApplicationDraft
from tests.intake.helpers import PDF, STEP_ANSWERS, walk_steps
from tests.intake.test_public_pages import SECRETS, _assert_no_plaintext, csrf_client

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = "https://testserver"


def _post(client: Client, url: str, token: str, data: dict[str, Any]) -> Any:
    return client.post(url, {**data, "csrfmiddlewaretoken": token}, secure=True, HTTP_ORIGIN=ORIGIN)


def _send(client: Client, token: str, lang: str = "ru") -> Any:
    scan = SimpleUploadedFile("scan.pdf", PDF + b"Zhgentiklashvili GQ4471902", content_type="application/pdf")
    return _post(client, f"/apply/check/?lang={lang}", token, {"consent": "on", "lang": lang, "upload_1": scan})


def test_the_landing_page_leads_to_the_form_and_the_status_page_first_and_to_staff_sign_in_last() -> None:
    for lang in ("en", "uk", "ru", "be", "ka"):
        html = Client().get(f"/?lang={lang}", secure=True).content.decode()
        assert re.search(rf'<html lang="{lang}"[ >]', html)
        main = html[html.index('<main class="govuk-main-wrapper"') :]
        links = re.findall(r'<a [^>]*href="([^"]+)"', main)
        assert links[:2] == [f"/apply/?lang={lang}", f"/status/?lang={lang}"], lang
        assert "govuk-button--start" in main
        assert links[-1] == "/login/"  # the footer's small "Staff sign in"


def test_the_landing_page_takes_the_root_and_login_stays_the_staff_door() -> None:
    assert b'id="start-apply"' in Client().get("/", secure=True).content
    assert Client().get("/work/", secure=True).status_code == 302
    assert Client().get("/login/", secure=True).status_code == 200


def test_filling_in_every_step_in_russian_then_sending_gives_the_receipt_once() -> None:
    client, token = csrf_client("ru")
    pages = walk_steps(client, token, STEP_ANSWERS, lang="ru")
    check = pages["/apply/check/?lang=ru"]
    # The check page shows the answers in Russian, each section with a "Change" link back to its page.
    assert "Проверьте ответы" in check and "Грузия" in check and "Украина" in check and "02.11.1988" in check
    for step in STEPS:
        assert f'href="/apply/{step.slug}/?lang=ru"' in check
    sent = _send(client, token)
    assert sent.status_code == 303 and sent["Location"] == "/apply/sent/?lang=ru"
    assert Person.objects.count() == 1
    confirmation = client.get(sent["Location"], secure=True).content.decode()
    receipt = re.search(r'id="receipt"[^>]*>([a-z ]+)<', confirmation)
    assert receipt is not None and len(receipt.group(1).split()) == 7
    assert "govuk-panel--confirmation" in confirmation and "Заявление получено" in confirmation
    # A reload of the confirmation page does not show the receipt again.
    again = client.get(sent["Location"], secure=True).content.decode()
    assert receipt.group(1) not in again and 'id="no-receipt"' in again
    assert ApplicationDraft.objects.count() == 0
    # The receipt works on the status page.
    status = _post(client, "/status/?lang=ru", token, {"receipt": receipt.group(1), "lang": "ru"})
    assert 'data-state="received"' in status.content.decode()


def test_going_back_and_sending_again_stores_nothing_new() -> None:
    client, token = csrf_client("ru")
    walk_steps(client, token, STEP_ANSWERS, lang="ru")
    assert _send(client, token).status_code == 303
    before = Person.objects.count()
    # Back to the check page and "Send" again, before and after the confirmation page was seen.
    assert _send(client, token)["Location"] == "/apply/sent/?lang=ru"
    client.get("/apply/sent/?lang=ru", secure=True)
    again = _send(client, token)
    assert again.status_code == 303 and again["Location"] == "/apply/sent/?lang=ru"
    assert client.get("/apply/check/?lang=ru", secure=True)["Location"] == "/apply/sent/?lang=ru"
    assert Person.objects.count() == before == 1


def test_one_draft_is_sent_by_one_request_only() -> None:
    draft = drafts.Draft(b"k" * 32, answers={"legion": ["geo"]})
    drafts.save(draft)
    assert [drafts.take(draft), drafts.take(draft)] == [True, False]


def test_a_draft_holds_no_plaintext_and_opens_only_with_the_browsers_key() -> None:
    client, token = csrf_client()
    walk_steps(client, token, STEP_ANSWERS, lang="en")
    row = ApplicationDraft.objects.get()
    _assert_no_plaintext(SECRETS)
    # The cookie's token opens the row; another token does not (the row id does not even match).
    cookie = client.cookies[drafts.cookie_name()].value
    assert cookie not in str(row.pk) and len(bytes(row.sealed)) > 100
    stranger = Client()
    stranger.cookies[drafts.cookie_name()] = "A" * 43
    assert stranger.get("/apply/check/", secure=True)["Location"].startswith("/apply/sent/")
    tampered = drafts.Draft(b"x" * 32)
    assert not tampered.open(bytes(row.sealed))


def test_add_another_adds_a_row_without_javascript_and_remove_takes_one_out() -> None:
    client, token = csrf_client()
    url = "/apply/documents/?lang=en"
    first = {"doc_1_kind": "passport", "doc_1_country": "GE", "doc_1_number": "GQ4471902", "lang": "en"}
    added = _post(client, url, token, {**first, "action": "add"})
    assert added.status_code == 303 and added["Location"].startswith("/apply/documents/?lang=en#id_doc_2_kind")
    page = client.get(url, secure=True).content.decode()
    assert 'id="id_doc_2_kind"' in page and 'value="GQ4471902"' in page and "Remove document 2" in page
    second = {"doc_2_kind": "id_card", "doc_2_country": "UA", "doc_2_number": "UA-555"}
    removed = _post(client, url, token, {**first, **second, "action": "remove-1"})
    assert removed.status_code == 303
    page = client.get(url, secure=True).content.decode()
    assert 'id="id_doc_2_kind"' not in page and 'value="UA-555"' in page and 'value="GQ4471902"' not in page


def test_add_another_checks_the_rows_already_there_first() -> None:
    client, token = csrf_client()
    refused = _post(client, "/apply/kin/?lang=en", token, {"kin_1_relation": "sister", "action": "add"})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'href="#id_kin_1_name"' in html and 'id="id_kin_1_name_error"' in html and 'value="sister"' in html


def test_errors_are_summarised_at_the_top_and_shown_at_each_field_with_what_was_typed() -> None:
    client, token = csrf_client("uk")
    bad = {"given_names": "Quirinus", "date_of_birth_day": "31", "date_of_birth_month": "2", "lang": "uk"}
    response = _post(client, "/apply/identity/?lang=uk", token, bad)
    assert response.status_code == 400
    html = response.content.decode()
    summary = html[html.index('id="form-errors"') : html.index("</ul>", html.index('id="form-errors"'))]
    for anchor in ("#id_family_name", "#id_date_of_birth_day", "#id_citizenships"):
        assert f'href="{anchor}"' in summary
    for field in ("family_name", "date_of_birth", "citizenships"):
        assert f'id="id_{field}_error"' in html
    assert 'value="Quirinus"' in html and 'value="31"' in html and "<title>Помилка:" in html
    assert re.search(r'id="id_family_name_error"><span[^>]*>Помилка:</span> Введіть ваше прізвище</p>', html)
    assert "[&#x27;" not in html
    assert 'aria-describedby="id_family_name_error"' in html


def test_countries_are_chosen_from_a_list_in_the_readers_language() -> None:
    html = Client().get("/apply/identity/?lang=ka", secure=True).content.decode()
    assert '<option value="GE">საქართველო</option>' in html
    assert '<option value="UA">უკრაინა</option>' in html
    names = [name for _code, name in country_choices("uk")]
    assert len(names) >= 249 and names.index("Україна") < names.index("Японія")


def test_a_country_not_on_the_list_is_refused() -> None:
    client, token = csrf_client()
    data = {**STEP_ANSWERS["identity"], "citizenships": ["XX"]}
    response = _post(client, "/apply/identity/?lang=en", token, data)
    assert response.status_code == 400 and 'id="id_citizenships_error"' in response.content.decode()


def test_the_check_page_sends_nobody_to_it_before_every_step_is_done() -> None:
    client, token = csrf_client()
    _post(client, "/apply/?lang=en", token, {"legion": "geo", "lang": "en"})
    assert client.get("/apply/check/?lang=en", secure=True)["Location"] == "/apply/identity/?lang=en"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="0123456789-/ .ab", max_size=6), min_size=3, max_size=3))
def test_a_date_s_parts_and_an_iso_date_read_the_same(parts: list[str]) -> None:
    widget = DateParts()
    data = {"d_day": parts[0], "d_month": parts[1], "d_year": parts[2]}
    assert widget.value_from_datadict(data, {}, "d") == parts
    if not any(parts):
        assert widget.value_from_datadict({"d": "1990-5-31"}, {}, "d") == ["31", "5", "1990"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["ua", "GE", " pl", "de ", "", "us,gb", "fr; it"]), max_size=4))
def test_citizenships_read_from_pickers_or_one_comma_separated_value(values: list[str]) -> None:
    from django.utils.datastructures import MultiValueDict

    codes = CountrySelects(3).value_from_datadict(MultiValueDict({"c": values}), {}, "c")
    assert codes == [c for v in values for c in re.split(r"[\s,;]+", v.upper()) if c]
    assert CountrySelects(3).value_from_datadict({"c": ", ".join(values)}, {}, "c") == codes
