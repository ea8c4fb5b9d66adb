"""The sample's identities, sealed, leave no plaintext anywhere at rest; the duplicates verb finds
its groups from blind indexes alone."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from legionary.identity import services
from legionary.identity.scoring import pairwise_score
from tests.plaintext import find_plaintext, identity_needles
from tests.plans import analyze_after_bulk_load

# The shared sample sits beside the repository; LEGIONARY_SHARED_DATA points elsewhere (a worktree).
DATA = Path(os.environ.get("LEGIONARY_SHARED_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data")
SAMPLE = [json.loads(line) for line in (DATA / "dupes-sample.jsonl").read_text(encoding="utf-8").splitlines()]
TRUTH: dict[str, int] = json.loads((DATA / "dupes-sample.truth.json").read_text(encoding="utf-8"))


def _load_sample() -> None:
    for application in SAMPLE:
        services.person_create(
            identity=application["identity"],
            legion=application["legion"],
            actor=services.Actor("test"),
            external_ref=application["external_ref"],
        )
    analyze_after_bulk_load()


@pytest.mark.django_db(transaction=True)
def test_no_identity_value_of_the_sample_is_anywhere_at_rest() -> None:
    _load_sample()
    from django.db import connection

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
    needles = identity_needles(a["identity"] for a in SAMPLE)
    assert len(needles) > 500
    assert find_plaintext(needles) == []


@pytest.mark.django_db
def test_the_scan_does_find_a_value_that_was_stored_in_clear() -> None:
    # Proves the scanner can fail: a name written in clear into an operational column is found.
    person = services.person_create(identity=SAMPLE[0]["identity"], legion="frl", actor=services.Actor("test"))
    person.call_sign = SAMPLE[0]["identity"]["family_name"]
    person.save(update_fields=["call_sign"])
    hits = find_plaintext(identity_needles([SAMPLE[0]["identity"]]))
    assert (SAMPLE[0]["identity"]["family_name"], "database rows") in hits


@pytest.mark.django_db
def test_duplicates_json_groups_the_sample_from_blind_indexes_alone(capsys: Any) -> None:
    _load_sample()
    call_command("duplicates", "--json")
    groups = json.loads(capsys.readouterr().out)["groups"]
    members = [m for g in groups for m in g["members"]]
    assert len(members) == len(set(members))  # each record in at most one group
    assert all(len(g["members"]) >= 2 and g["reasons"] for g in groups)
    score = pairwise_score([g["members"] for g in groups], TRUTH)
    # See docs/security.md: the three pairs missed share nothing but a birth date and a
    # patronymic or birthplace, which twins share too.
    assert score.precision >= 0.995
    assert score.recall >= 0.97
