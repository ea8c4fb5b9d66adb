"""Abandoned drafts are forgotten by a later save, at most once a minute per process, and are never
opened meanwhile (issue 20, "a surge": not one more DELETE and commit for every step saved)."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta

import pytest
from django.db import connection
from django.http import HttpRequest
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from legionary.intake import drafts
from legionary.intake.models import ApplicationDraft

pytestmark = pytest.mark.django_db


def _abandoned() -> drafts.Draft:
    draft = drafts.Draft(secrets.token_bytes(32), answers={"legion": ["geo"]}, done=["legion"])
    drafts.save(draft)
    long_ago = timezone.now() - timedelta(seconds=drafts.DRAFT_SECONDS + 60)
    ApplicationDraft.objects.filter(pk=draft.row_id).update(updated_at=long_ago)
    return draft


def _deletes(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if q["sql"].startswith("DELETE")]


def test_an_abandoned_draft_is_forgotten_by_a_later_save_and_never_opened_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = _abandoned()
    monkeypatch.setattr(drafts, "_next_sweep", 0.0)  # the process has not swept for a minute
    with CaptureQueriesContext(connection) as sweeping:
        drafts.save(drafts.Draft(secrets.token_bytes(32)))
    assert len(_deletes(sweeping)) == 1
    assert not ApplicationDraft.objects.filter(pk=first.row_id).exists()

    second = _abandoned()  # abandoned within the same minute: no second sweep yet
    with CaptureQueriesContext(connection) as saving:
        drafts.save(drafts.Draft(secrets.token_bytes(32)))
    assert _deletes(saving) == []
    assert ApplicationDraft.objects.filter(pk=second.row_id).exists()
    # ...but its cookie opens nothing.
    request = RequestFactory().get("/apply/")
    request.COOKIES[drafts.cookie_name()] = base64.urlsafe_b64encode(second.token).rstrip(b"=").decode()
    assert drafts.load(request) is None

    monkeypatch.setattr(drafts, "_next_sweep", 0.0)  # a minute later
    drafts.save(drafts.Draft(secrets.token_bytes(32)))
    assert not ApplicationDraft.objects.filter(pk=second.row_id).exists()


@pytest.mark.django_db(transaction=True)  # outside a test's transaction, as a request takes it
def test_taking_a_draft_is_one_statement_and_succeeds_once() -> None:
    draft = drafts.Draft(secrets.token_bytes(32), receipt="a receipt shown once")
    drafts.save(draft)
    with CaptureQueriesContext(connection) as taking:
        assert drafts.take(draft) is True
    assert [q["sql"].split()[0] for q in taking.captured_queries] == ["DELETE"]
    assert drafts.take(draft) is False  # a second request (a reload, a double click) gets nothing
    assert not ApplicationDraft.objects.filter(pk=draft.row_id).exists()


@pytest.mark.django_db(transaction=True)  # outside a test's transaction, as a request saves it
def test_saving_a_draft_is_one_statement_without_a_transaction_and_overwrites_the_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(drafts, "_next_sweep", float("inf"))  # no sweep due: the save alone
    draft = drafts.Draft(secrets.token_bytes(32), answers={"legion": ["geo"]}, done=["legion"])
    with CaptureQueriesContext(connection) as first:
        drafts.save(draft)
    assert [q["sql"].split()[0] for q in first.captured_queries] == ["INSERT"]  # no BEGIN, no COMMIT
    sent = drafts.Draft(draft.token, receipt="a receipt shown once")
    with CaptureQueriesContext(connection) as again:
        drafts.save(sent)
    assert [q["sql"].split()[0] for q in again.captured_queries] == ["INSERT"]
    assert ApplicationDraft.objects.filter(pk=draft.row_id).count() == 1
    request = RequestFactory().get("/apply/sent/")
    request.COOKIES[drafts.cookie_name()] = base64.urlsafe_b64encode(draft.token).rstrip(b"=").decode()
    opened = drafts.load(request)
    assert opened is not None and opened.receipt == "a receipt shown once" and opened.answers == {}


def _request_with(draft: drafts.Draft) -> HttpRequest:
    request = RequestFactory().get("/apply/sent/")
    request.COOKIES[drafts.cookie_name()] = base64.urlsafe_b64encode(draft.token).rstrip(b"=").decode()
    return request


@pytest.mark.django_db(transaction=True)  # outside a test's transaction, as a request takes it
def test_the_confirmation_page_claims_a_sent_draft_in_one_statement_and_shows_its_receipt_once() -> None:
    sent = drafts.Draft(secrets.token_bytes(32), receipt="a receipt shown once")
    drafts.save(sent)
    with CaptureQueriesContext(connection) as taking:
        draft, receipt = drafts.take_sent(_request_with(sent))
    assert [q["sql"].split()[0] for q in taking.captured_queries] == ["DELETE"]
    assert draft is not None and receipt == "a receipt shown once"
    assert drafts.take_sent(_request_with(sent)) == (None, None)  # a reload: nothing
    assert not ApplicationDraft.objects.filter(pk=sent.row_id).exists()


@pytest.mark.django_db(transaction=True)
def test_the_confirmation_page_leaves_a_draft_not_sent_yet_as_it_was() -> None:
    unsent = drafts.Draft(secrets.token_bytes(32), answers={"legion": ["geo"]}, done=["legion"])
    drafts.save(unsent)
    before = ApplicationDraft.objects.get(pk=unsent.row_id)
    draft, receipt = drafts.take_sent(_request_with(unsent))
    assert draft is not None and draft.answers == {"legion": ["geo"]} and receipt is None
    after = ApplicationDraft.objects.get(pk=unsent.row_id)
    assert (bytes(after.sealed), after.updated_at) == (bytes(before.sealed), before.updated_at)
    assert drafts.load(_request_with(unsent)) is not None


@pytest.mark.django_db(transaction=True)
def test_the_confirmation_page_opens_no_expired_draft() -> None:
    old = _abandoned()
    assert drafts.take_sent(_request_with(old)) == (None, None)
