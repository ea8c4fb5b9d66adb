"""``legionary duplicates`` streamed in flat memory gives what it gave when it held everything.

The reference is the verb as it was written before streaming (``duplicate_screen``'s groups and
pairs held in memory, the officers' conclusions applied by ``apply_resolutions``, one
``json.dumps``), kept here; the verb's output must be the same text, byte for byte, on the public
duplicate sample with and without conclusions of every kind.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from legionary.identity import services
from legionary.identity.models import Person
from legionary.identity.services import Actor
from legionary.vetting.duplicates import apply_resolutions
from legionary.vetting.models import Case, FlagResolution, ScreeningFlag
from tests.plans import analyze_after_bulk_load

pytestmark = pytest.mark.usefixtures("openings_alert_policy")


def verb_before_streaming(as_json: bool) -> str:
    """``legionary duplicates [--json]`` as it was when it held both tiers in memory."""
    screened = services.duplicate_screen()
    resolved = apply_resolutions([(list(g.members), list(g.reasons)) for g in screened.groups])
    concluded = {frozenset(pair) for pair in resolved.dismissed}
    grouped = {member for group in resolved.groups for member in group.members}
    pairs = [
        pair
        for pair in screened.possible
        if frozenset(pair.members) not in concluded and not set(pair.members) <= grouped
    ]
    ids = grouped | {member for pair in pairs for member in pair.members}
    ids |= {member for pair in resolved.dismissed for member in pair}
    refs = dict(Person.objects.filter(id__in=sorted(ids)).values_list("id", "external_ref"))
    groups: list[dict[str, Any]] = [
        {"members": [refs.get(m) or m for m in g.members], "reasons": list(g.reasons), "confirmed": g.confirmed}
        for g in resolved.groups
    ]
    possible = [{"members": [refs.get(m) or m for m in p.members], "reasons": list(p.reasons)} for p in pairs]
    dismissed = [
        {"members": [refs.get(m) or m for m in pair], "reasons": ["different_people"]} for pair in resolved.dismissed
    ]
    if as_json:
        return json.dumps({"groups": groups, "possible": possible, "dismissed": dismissed}, ensure_ascii=False) + "\n"
    lines = [f"{', '.join(g['members'])}  ({', '.join(g['reasons'])})" for g in groups]
    lines += [f"possible: {', '.join(p['members'])}  ({', '.join(p['reasons'])})" for p in possible]
    lines.append(f"{len(groups)} groups, {len(possible)} possible pairs to review.")
    return "".join(line + "\n" for line in lines)


def verb(*flags: str) -> str:
    out = io.StringIO()
    call_command("duplicates", *flags, stdout=out)
    return out.getvalue()


def seed_sample() -> list[Person]:
    data = Path(os.environ.get("LEGIONARY_SHARED_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data")
    if not (data / "dupes-sample.jsonl").exists():
        pytest.skip(f"sample not found under {data}")
    rows = [json.loads(line) for line in (data / "dupes-sample.jsonl").read_text(encoding="utf-8").splitlines()]
    with transaction.atomic():
        people = services.people_create_batch(
            items=[
                # Every third record without an external reference: printed by its pseudonymous id.
                services.NewPerson(
                    identity=r["identity"], legion=r["legion"], external_ref=None if n % 3 == 0 else r["external_ref"]
                )
                for n, r in enumerate(rows)
            ],
            actor=Actor("test"),
        )
    analyze_after_bulk_load()
    return people


def conclude(person_id: str, other_id: str, resolution: str) -> None:
    now = timezone.now()
    case, _ = Case.objects.get_or_create(
        person_id=person_id, defaults={"legion": "frl", "created_at": now, "updated_at": now}
    )
    ScreeningFlag.objects.create(
        case=case,
        matched_person_id=other_id,
        reasons=["name+birth_date"],
        matched_status="received",
        created_at=now,
        resolved_at=now,
        resolution=resolution,
    )


@pytest.mark.django_db
def test_the_streamed_verb_writes_what_the_verb_held_in_memory_wrote_on_the_sample() -> None:
    seed_sample()
    for flags in (("--json",), ()):
        assert verb(*flags) == verb_before_streaming(as_json=bool(flags))
    document = json.loads(verb("--json"))
    assert document["groups"] and document["possible"] and document["dismissed"] == []
    assert any(m.startswith("p") and not m.startswith("r42") for g in document["groups"] for m in g["members"])


@pytest.mark.django_db
def test_the_streamed_verb_applies_every_kind_of_conclusion_as_before() -> None:
    people = seed_sample()
    screened = services.duplicate_screen()
    groups = [list(g.members) for g in screened.groups]
    pairs = [list(p.members) for p in screened.possible]
    grouped = {m for g in groups for m in g}
    loose = [p.id for p in people if p.id not in grouped and all(p.id not in pair for pair in pairs)]
    twos = [g for g in groups if len(g) == 2]
    assert len(twos) >= 4 and len(pairs) >= 2 and len(loose) >= 6
    conclude(twos[0][0], twos[0][1], FlagResolution.DIFFERENT_PEOPLE)  # a group of just those two goes
    conclude(twos[1][1], twos[2][0], FlagResolution.SAME_PERSON)  # two groups joined into one
    conclude(twos[3][0], twos[3][1], FlagResolution.SAME_PERSON)  # a group confirmed
    conclude(loose[0], loose[1], FlagResolution.SAME_PERSON)  # a new group of two
    conclude(loose[2], twos[3][0], FlagResolution.SAME_PERSON)  # one more in a group
    conclude(pairs[0][0], pairs[0][1], FlagResolution.DIFFERENT_PEOPLE)  # a possible pair concluded
    conclude(loose[3], loose[4], FlagResolution.DIFFERENT_PEOPLE)  # two people nobody grouped
    larger = [g for g in groups if len(g) > 2]
    if larger:
        conclude(larger[0][0], larger[0][1], FlagResolution.DIFFERENT_PEOPLE)  # the group stays
    for flags in (("--json",), ()):
        assert verb(*flags) == verb_before_streaming(as_json=bool(flags))
    document = json.loads(verb("--json"))
    confirmed = [g for g in document["groups"] if g["confirmed"]]
    assert len(confirmed) == 3 and len(document["dismissed"]) == 3 + bool(larger)
    assert len(document["groups"]) == len(groups) - 2 + 1


@pytest.mark.django_db
def test_a_chain_of_links_is_one_group_however_long_and_in_whatever_id_order() -> None:
    # Each record shares a passport with the next (the same birth date): nine records, one person.
    base: dict[str, Any] = {"patronymic": None, "date_of_birth": "1988-02-29", "citizenships": ["RU"]}
    names = ["Ivan", "Oleg", "Pavel", "Artem", "Yuri", "Maksim", "Boris", "Gleb", "Denis"]
    with transaction.atomic():
        services.people_create_batch(
            items=[
                services.NewPerson(
                    identity=dict(
                        base,
                        given_names=name,
                        family_name=f"Stem{n}x",
                        documents=[
                            {"kind": "passport", "country": "RU", "number": f"45 {n:07d}"},
                            {"kind": "passport", "country": "RU", "number": f"45 {n + 1:07d}"},
                        ],
                    ),
                    legion="frl",
                    external_ref=f"chain-{n}",
                )
                for n, name in enumerate(names)
            ],
            actor=Actor("test"),
        )
    document = json.loads(verb("--json"))
    assert [sorted(g["members"]) for g in document["groups"]] == [[f"chain-{n}" for n in range(9)]]
    assert document["groups"][0]["reasons"] == ["document"]
    assert verb("--json") == verb_before_streaming(as_json=True)
