"""A token held by more than ``matching.MAX_BUCKET`` people identifies nobody: arrival screening
(``screening_candidates_many``) leaves it out in SQL, without reading the crowd, and gives exactly
what the rule over the whole index table gives, on both sides of the bound."""

from __future__ import annotations

import itertools
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from legionary.identity import matching, services
from legionary.identity.models import BlindIndex
from legionary.identity.services import Actor
from tests.identity.crowds import KIN, PLACEHOLDER, strangers
from tests.plans import analyze_after_bulk_load

pytestmark = pytest.mark.django_db

BOTH = ["patronymic+birth_date", "birthplace+birth_date"]
SIZES = [matching.MAX_BUCKET - 1, matching.MAX_BUCKET, matching.MAX_BUCKET + 1]


def _store(identities: list[dict[str, Any]], prefix: str) -> list[str]:
    """Stores the identities in this order (one batch, as an import does); their person ids."""
    items = [
        services.NewPerson(identity=identity, legion="frl", external_ref=f"{prefix}-{n:03d}")
        for n, identity in enumerate(identities)
    ]
    with transaction.atomic():
        people = services.people_create_batch(items=items, actor=Actor("test"))
    analyze_after_bulk_load()
    return [p.id for p in people]


@pytest.mark.parametrize("held", SIZES, ids=[f"held-by-{n}" for n in SIZES])
def test_a_token_pairs_its_holders_up_to_max_bucket_people_and_nobody_past_it(held: int) -> None:
    # Two crowds of the same size: one that the possible tier pairs (birth date, patronymic and
    # birthplace under other names), one that the match tier links (a placeholder passport number).
    kin = _store(strangers(held, KIN), "kin")
    placeholder = _store(strangers(held, PLACEHOLDER), "doc")
    newest_kin, newest_placeholder = kin[-1], placeholder[-1]
    with CaptureQueriesContext(connection) as captured:
        duplicates, possible = services.screening_candidates_many([newest_kin, newest_placeholder])
    assert len(captured.captured_queries) <= 2  # the join, and the kinds of those it found
    if held <= matching.MAX_BUCKET:
        assert possible == {newest_kin: sorted((other, BOTH) for other in kin[:-1])}
        assert duplicates == {newest_placeholder: sorted((other, ["document"]) for other in placeholder[:-1])}
    else:
        assert possible == {} and duplicates == {}
    # The verb over everyone (a GROUP BY ... HAVING of its own) draws the bound in the same place.
    screened = services.duplicate_screen()
    if held <= matching.MAX_BUCKET:
        assert [(sorted(g.members), list(g.reasons)) for g in screened.groups] == [(sorted(placeholder), ["document"])]
        assert len(screened.possible) == held * (held - 1) // 2
    else:
        assert screened.groups == [] and screened.possible == []


def _candidates_by_the_rule(order: list[str]) -> tuple[services.Candidates, services.Candidates]:
    """Both tiers for the people of ``order`` as if they arrived in that order, from every index row
    read into Python: the tokens held by two to ``MAX_BUCKET`` people pair their holders, and the
    rules judge each pair by the kinds shared and every kind each of the two holds."""
    holders: dict[tuple[str, int, bytes], set[str]] = defaultdict(set)
    kinds: dict[str, set[str]] = defaultdict(set)
    for person, name, version, value in BlindIndex.objects.values_list("person_id", "name", "key_version", "value"):
        holders[(name, version, bytes(value))].add(person)
        kinds[person].add(name)
    agreeing: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for (name, _version, _value), people in holders.items():
        if len(people) <= matching.MAX_BUCKET:
            for mine, theirs in itertools.permutations(people, 2):
                agreeing[mine][theirs].add(name)
    position = {person: n for n, person in enumerate(order)}
    duplicates: services.Candidates = {}
    possible: services.Candidates = {}
    for mine in order:
        for other, names in agreeing.get(mine, {}).items():
            mine_kinds, other_kinds = frozenset(kinds[mine]), frozenset(kinds[other])
            linked = matching.link_reasons(names, mine_kinds, other_kinds)
            if linked:
                if position.get(other, -1) < position[mine]:  # never one arriving after him
                    duplicates.setdefault(mine, []).append((other, sorted(linked)))
                continue
            reasons = matching.possible_reasons(names, mine_kinds, other_kinds)
            if reasons:
                in_order = [r for r in matching.POSSIBLE_REASONS if r in reasons]
                possible.setdefault(mine, []).append((other, in_order))
    return {k: sorted(v) for k, v in duplicates.items()}, {k: sorted(v) for k, v in possible.items()}


# Pairs the markers decide (the kinds a record holds, not only those it shares): a year of birth
# alone allows the name and year; a patronymic or a birthplace that disagrees takes a reason away.
MARKED: list[dict[str, Any]] = [
    {"given_names": "Ivan", "family_name": "Sokolov", "date_of_birth": "1975", "citizenships": ["RU"]},
    {"given_names": "Ivan", "family_name": "Sokolov", "date_of_birth": "1975-04-12", "citizenships": ["RU"]},
    {"given_names": "Pyotr", "family_name": "Orlov", "patronymic": "Ivanovich", "date_of_birth": "1990-01-05"},
    {"given_names": "Pyotr", "family_name": "Orlov", "patronymic": "Sergeyevich", "date_of_birth": "1990-01-05"},
    {"given_names": "Anna", "family_name": "Belova", "patronymic": "Petrovna", "date_of_birth": "1985-03-03"},
    {"given_names": "Olga", "family_name": "Zimina", "patronymic": "Petrovna", "date_of_birth": "1985-03-03"},
]
MARKED[4]["place_of_birth"], MARKED[5]["place_of_birth"] = "Tver", "Omsk"


def test_both_tiers_on_arrival_are_the_rule_over_the_whole_table_with_crowds_on_both_sides_of_the_bound() -> None:
    data = Path(os.environ.get("LEGIONARY_SHARED_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data")
    sample = data / "dupes-sample.jsonl"
    rows = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines()] if sample.exists() else []
    _store([r["identity"] for r in rows], "sample")
    year_only, full_date, twin_a, twin_b, tver, omsk = _store(MARKED, "marked")
    kin = _store(strangers(matching.MAX_BUCKET, KIN), "kin")
    placeholder = _store(strangers(matching.MAX_BUCKET + 1, PLACEHOLDER), "doc")
    everyone = sorted(set(BlindIndex.objects.values_list("person_id", flat=True)))
    expected = _candidates_by_the_rule(everyone)
    assert services.screening_candidates_many(everyone) == expected
    # The sample's own pairs are there, the crowd at the bound pairs in full, the one past it not.
    duplicates, possible = expected
    assert not rows or len(duplicates) > 10
    assert all(len(possible[person]) == matching.MAX_BUCKET - 1 for person in kin)
    assert not set(placeholder) & (set(duplicates) | set(possible))
    assert possible[full_date] == [(year_only, ["name+birth_year"])]
    assert twin_a not in duplicates and twin_b not in duplicates  # their patronymics disagree
    assert tver not in possible and omsk not in possible  # their birthplaces disagree
