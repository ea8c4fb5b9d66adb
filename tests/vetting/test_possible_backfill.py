"""``legionary duplicates backfill-possible``: the cases that arrived before the possible-duplicate
mark existed are marked as arrival would have marked them, in batches, audited, and only once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from legionary.audit.models import Entry
from legionary.vetting import services
from legionary.vetting.models import Case
from tests.conftest import signed_in
from tests.plans import analyze_after_bulk_load
from tests.vetting.conftest import Cast, Submit, browser_post, reapplied

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "dupes-sample.jsonl"
REASON = "Met both in interview; different mothers and schools."


def _backfill(*extra: str) -> dict[str, Any]:
    from io import StringIO

    out = StringIO()
    call_command("duplicates", "backfill-possible", "--json", *extra, stdout=out)
    data: dict[str, Any] = json.loads(out.getvalue())
    return data


def _marks() -> dict[str, str]:
    return dict(Case.objects.values_list("person__external_ref", "possible"))


def _details(entry: Entry) -> dict[str, Any]:
    details: dict[str, Any] = json.loads(bytes(entry.body))["details"]
    return details


def _possible_pair(submit: Submit) -> tuple[Case, Case]:
    """Two applicants the possible tier pairs (same birth date, patronymic and birthplace, another
    name), both unmarked as if they had arrived before the mark existed."""
    first = submit()
    again = reapplied(submit)
    assert again.possible == "" and Case.objects.get(pk=again.pk).possible == "open"
    Case.objects.update(possible="")
    return first, again


def test_the_later_of_a_possible_pair_is_marked_open_audited_under_the_operators_name(
    submit: Submit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEGIONARY_OPERATOR", "olga")
    first, again = _possible_pair(submit)
    assert _backfill() == {"examined": 2, "open": 1, "concluded": 0}
    assert Case.objects.get(pk=again.pk).possible == "open"
    # The earlier one is not marked, as at arrival: he was alone when he arrived.
    assert Case.objects.get(pk=first.pk).possible == ""
    entry = Entry.objects.get(action="screening.possible", subject=again.person_id, actor="cli:olga")
    details = _details(entry)
    assert details["matched"] == [first.person_id] and details["backfill"] == "open"
    assert "patronymic+birth_date" in details["reasons"]
    totals = Entry.objects.get(action="screening.possible_backfilled", actor="cli:olga")
    assert _details(totals) == {"examined": 2, "open": 1, "concluded": 0}


def test_running_it_again_marks_nothing_more_and_never_touches_a_marked_case(submit: Submit) -> None:
    _first, again = _possible_pair(submit)
    _backfill()
    entries = Entry.objects.filter(action="screening.possible", subject=again.person_id)
    after_first = entries.count()
    Case.objects.filter(pk=again.pk).update(possible="concluded")
    assert _backfill() == {"examined": 1, "open": 0, "concluded": 0}
    assert Case.objects.get(pk=again.pk).possible == "concluded"
    assert entries.count() == after_first
    assert Entry.objects.filter(action="screening.possible_backfilled").count() == 2


def test_a_pair_a_ci_officer_already_concluded_on_marks_the_case_concluded(submit: Submit, vetting_cast: Cast) -> None:
    """The pair was concluded on the case page (a flag joins the two), while the case was unmarked:
    it becomes "concluded", as arrival and the conclusion would have left it; the CI officer keeps
    seeing it, and it is not on his "to review"."""
    from tests.vetting.conftest import start

    first, again = _possible_pair(submit)
    again = start(again, vetting_cast)
    review = again.checks.get(check_type__is_ci_review=True)
    services.check_assign(check_id=review.pk, assignee=vetting_cast.ci, actor=vetting_cast.intake)
    url = reverse("vetting:possible-resolve", args=[again.pk, first.person_id])
    answer = browser_post(signed_in(vetting_cast.ci), url, {"resolution": "different_people", "reason": REASON})
    assert answer.status_code == 302
    assert Case.objects.get(pk=again.pk).possible == ""
    assert _backfill()["concluded"] == 1
    assert Case.objects.get(pk=again.pk).possible == "concluded"


@pytest.mark.django_db
def test_batches_of_any_size_mark_the_same_cases_as_arrival_did() -> None:
    call_command("import", str(SAMPLE), "--json", "--batch-size", "64")
    analyze_after_bulk_load()
    arrival = _marks()
    assert "open" in arrival.values(), "the sample has no possible pair: this test would prove nothing"
    for batch_size in ("1", "7", "1000"):
        Case.objects.update(possible="")
        done = _backfill("--batch-size", batch_size)
        assert _marks() == arrival, batch_size
        assert done["examined"] == len(arrival) and done["open"] == list(arrival.values()).count("open")


def test_a_batch_size_below_one_is_refused_with_nothing_written(submit: Submit) -> None:
    _possible_pair(submit)
    with pytest.raises(CommandError, match=r"--batch-size must be at least 1\.") as refused:
        call_command("duplicates", "backfill-possible", "--batch-size", "0")
    assert refused.value.returncode == 2
    assert set(Case.objects.values_list("possible", flat=True)) == {""}
    assert not Entry.objects.filter(action__startswith="screening.possible_").exists()


def test_the_duplicates_listing_is_unchanged_beside_the_new_verb(submit: Submit) -> None:
    from io import StringIO

    _possible_pair(submit)
    out = StringIO()
    call_command("duplicates", "--json", stdout=out)
    assert set(json.loads(out.getvalue())) == {"groups", "possible", "dismissed"}
