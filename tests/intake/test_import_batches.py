"""Batched import stores exactly what one-by-one submission stores, flags included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from legionary.identity.models import BlindIndex, Person, SealedIdentity
from legionary.vetting.models import Case, ScreeningFlag

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "dupes-sample.jsonl"


def _flags_by_ref() -> dict[str, list[str]]:
    refs = dict(Person.objects.values_list("id", "external_ref"))
    flags: dict[str, list[str]] = {}
    for case_person, matched in ScreeningFlag.objects.values_list("case__person_id", "matched_person_id"):
        flags.setdefault(refs[case_person], []).append(refs[matched])
    return {ref: sorted(found) for ref, found in flags.items()}


def _import(batch_size: int, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, int], dict[str, list[str]]]:
    call_command("import", str(SAMPLE), "--json", "--batch-size", str(batch_size))
    result = json.loads(capsys.readouterr().out)
    return result, _flags_by_ref()


@pytest.mark.django_db(transaction=True)
def test_batches_of_any_size_flag_the_same_pairs_as_one_by_one(capsys: pytest.CaptureFixture[str]) -> None:
    single, single_flags = _import(1, capsys)
    call_command("flush", interactive=False, verbosity=0)
    batched, batched_flags = _import(64, capsys)
    assert single["accepted"] == batched["accepted"] == 234
    assert single["duplicates_flagged"] == batched["duplicates_flagged"] > 0
    assert single_flags == batched_flags


@pytest.mark.django_db(transaction=True)
def test_a_batch_stores_whole_records_only(capsys: pytest.CaptureFixture[str]) -> None:
    _import(50, capsys)
    people = Person.objects.count()
    assert people == 234
    assert SealedIdentity.objects.count() == Case.objects.count() == people
    assert BlindIndex.objects.values("person_id").distinct().count() == people


@pytest.mark.django_db(transaction=True)
def test_importing_twice_in_batches_stores_nothing_twice(capsys: pytest.CaptureFixture[str]) -> None:
    _import(100, capsys)
    again, _ = _import(100, capsys)
    assert again["accepted"] == 0 and again["already_imported"] == 234
    assert Person.objects.count() == 234


@pytest.mark.django_db(transaction=True)
def test_batches_of_any_size_mark_the_same_possible_duplicates_as_one_by_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A case whose person screening's possible tier pairs with an earlier record is marked for the CI
    officer's "My work" alike, whether the file is read one record or 64 at a time."""

    def marked() -> set[str]:
        return set(Case.objects.filter(possible="open").values_list("person__external_ref", flat=True))

    _import(1, capsys)
    single = marked()
    call_command("flush", interactive=False, verbosity=0)
    _import(64, capsys)
    assert single == marked()
    assert single, "the sample has no possible pair: this test would prove nothing"
