"""Designation and sanctions screening: lists, and hits found on arrival and for life, set-based.

A list (FollowTheMoney entities, read by ``identity.designations``) is stored as its entries' ids
and captions (public data) and blind-index tokens keyed exactly as applicants' are. A *hit* is a
person (or one of his next of kin) whose tokens agree with an entry's under the rule of
``identity.matching.screening_strength``: "match" or "possible". Hits are found:

- on arrival: ``screen_people`` for the people an application (form, API, import) has just
  created, in its transaction, before anyone has looked at the case;
- when a list is loaded or reloaded: ``screen_list`` for **everyone**, applicants, approved and
  serving people alike (continuous evaluation), with one join of the list's tokens against the
  people's index tokens, never a loop over people;
- when vetting starts (``vetting.services._screen_case``), which turns match hits into CI checks.

A new hit flags the person's case for counter-intelligence at once and is audited (ids and labels
only). The applicant is told nothing: his status page reads the case's state, which a hit never
changes before vetting starts. Nothing here decrypts anything or handles a plaintext identity.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from legionary.access.roles import Role
from legionary.audit.services import AuditItem, audit_record, audit_record_many
from legionary.db import insert_rows
from legionary.identity import designations, matching
from legionary.identity.models import BlindIndex
from legionary.identity.services import KIN_NAME, KIN_NAME_CHECK, blind_tokens, next_of_kin_tokens
from legionary.vetting.models import (
    Case,
    HitState,
    HitStrength,
    HitVia,
    ScreeningEntry,
    ScreeningHit,
    ScreeningList,
    ScreeningToken,
)

__all__ = [
    "SYSTEM_SCREENING",
    "HitRow",
    "ListLoad",
    "ScreeningError",
    "hits_for_person",
    "screen_list",
    "screen_people",
    "screening_hit_resolve",
    "screening_hits",
    "screening_list_load",
]

SYSTEM_SCREENING = "system:screening"
_CHUNK = 500
# The kinds each side's *presence* matters for (a patronymic that disagrees, a rough date, the
# precision of a listed birth date); everything else is decided by the kinds that agree.
_PERSON_MARKERS = (matching.PATRONYMIC_DOB, matching.NAME_ROUGH_DATE)
_ENTRY_MARKERS = (matching.PATRONYMIC_DOB, matching.NAME_ROUGH_DATE, matching.NAME_DOB, matching.NAME_MONTH)
_STRENGTH_ORDER = {HitStrength.POSSIBLE.value: 0, HitStrength.MATCH.value: 1}


class ScreeningError(Exception):
    """A screening action was refused; the message says why and what to do (never a name)."""


@dataclass(frozen=True)
class ListLoad:
    screening_list: ScreeningList
    entries: int
    skipped: int
    hits: int


# --- loading a list ---------------------------------------------------------------------------------


@dataclass
class _Reading:
    """What reading a file has counted so far (the people themselves go by, a chunk at a time)."""

    seen: set[str]
    skipped: int = 0


def _read_lines(lines: Iterable[str], reading: _Reading) -> Iterator[designations.ListedPerson]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            raise ScreeningError(
                f"Line {number} is not JSON; the file must hold one FollowTheMoney entity per line."
            ) from None
        try:
            person = designations.read_entity(data)
        except designations.ListFormatError as exc:
            raise ScreeningError(f"Line {number} is not a FollowTheMoney entity: {exc}.") from None
        if person is None or person.entity_id in reading.seen:
            reading.skipped += 1
            continue
        reading.seen.add(person.entity_id)
        yield person


def _entry_token_rows(person: designations.ListedPerson) -> list[tuple[str, int, bytes]]:
    tokens = blind_tokens(designations.entity_tokens(person))
    tokens.extend(next_of_kin_tokens(designations.kin_names(person)))
    return list(dict.fromkeys(tokens))


def _batches(people: Iterator[designations.ListedPerson]) -> Iterator[list[designations.ListedPerson]]:
    batch: list[designations.ListedPerson] = []
    for person in people:
        batch.append(person)
        if len(batch) >= _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def screening_list_load(*, name: str, lines: Iterable[str], actor_name: str) -> ListLoad:
    """Loads (or reloads) a list, then screens everyone against it; all in one transaction.

    The file is read, keyed and stored a chunk of entries at a time, so memory holds one chunk's
    tokens whatever the list's size. A line that is not an entity is an error naming the line,
    and the transaction then keeps nothing of the file. Only ``Person`` entities are stored. A
    reload keeps the entries (and their hits) whose ids are still listed and drops the others.
    """
    name = " ".join(name.split())[:200]
    if not name:
        raise ScreeningError("Give the list a name.")
    now = timezone.now()
    reading = _Reading(seen=set())
    with transaction.atomic():
        screening_list, _ = ScreeningList.objects.update_or_create(
            name=name, defaults={"loaded_at": now, "entries_count": 0}
        )
        existing = dict(screening_list.entries.values_list("entry_id", "pk"))
        ScreeningToken.objects.filter(entry__screening_list=screening_list).delete()
        for batch in _batches(_read_lines(lines, reading)):
            fresh = ScreeningEntry.objects.bulk_create(
                [
                    ScreeningEntry(screening_list=screening_list, entry_id=p.entity_id, caption=p.caption)
                    for p in batch
                    if p.entity_id not in existing
                ]
            )
            ScreeningEntry.objects.bulk_update(
                [ScreeningEntry(pk=existing[p.entity_id], caption=p.caption) for p in batch if p.entity_id in existing],
                ["caption"],
            )
            pks: dict[str, Any] = {e.entry_id: e.pk for e in fresh}
            pks.update((p.entity_id, existing[p.entity_id]) for p in batch if p.entity_id in existing)
            if any(pks.get(p.entity_id) is None for p in batch):  # a database that returns no new ids
                wanted = [p.entity_id for p in batch]
                pks = dict(screening_list.entries.filter(entry_id__in=wanted).values_list("entry_id", "pk"))
            insert_rows(
                ScreeningToken,
                ("entry", "name", "key_version", "value"),
                [(pks[p.entity_id], *token) for p in batch for token in _entry_token_rows(p)],
            )
        for chunk in _chunks([pk for entry_id, pk in existing.items() if entry_id not in reading.seen]):
            ScreeningEntry.objects.filter(pk__in=list(chunk)).delete()
        entries = len(reading.seen)
        ScreeningList.objects.filter(pk=screening_list.pk).update(entries_count=entries)
        screening_list.entries_count = entries
        audit_record(
            actor=actor_name,
            action="screening.list_loaded",
            details={"list": name, "entries": entries, "skipped": reading.skipped},
        )
        hits = screen_list(screening_list, now=now)
    return ListLoad(screening_list=screening_list, entries=entries, skipped=reading.skipped, hits=hits)


# --- finding hits -------------------------------------------------------------------------------------


def _agreeing_rows(where: str, params: Sequence[Any]) -> Iterator[tuple[int, str, str]]:
    """(entry pk, person id, index kind) for every token a listed entry and a person share."""
    tokens = connection.ops.quote_name(ScreeningToken._meta.db_table)
    index = connection.ops.quote_name(BlindIndex._meta.db_table)
    entries = connection.ops.quote_name(ScreeningEntry._meta.db_table)
    sql = (
        f"SELECT DISTINCT t.entry_id, b.person_id, t.name FROM {tokens} t "  # noqa: S608 — quoted model tables, placeholders only
        f"JOIN {index} b ON b.name = t.name AND b.key_version = t.key_version AND b.value = t.value "
        f"JOIN {entries} e ON e.id = t.entry_id WHERE {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        while True:
            rows = cursor.fetchmany(5000)
            if not rows:
                return
            for entry_pk, person_id, kind in rows:
                yield int(entry_pk), str(person_id), str(kind)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _markers(
    model: type[BlindIndex] | type[ScreeningToken], owner: str, owners: list[Any], kinds: Sequence[str]
) -> dict[Any, set[str]]:
    found: dict[Any, set[str]] = {}
    for chunk in _chunks(owners):
        rows = model.objects.filter(**{f"{owner}__in": list(chunk), "name__in": list(kinds)})
        for who, kind in rows.values_list(owner, "name").distinct():
            found.setdefault(who, set()).add(kind)
    return found


def _evaluate(rows: Iterable[tuple[int, str, str]]) -> dict[tuple[str, int, str], str]:
    """(person id, entry pk, via) → strength, for every pair of the join that makes a hit."""
    agreeing: dict[tuple[int, str], set[str]] = {}
    for entry_pk, person_id, kind in rows:
        agreeing.setdefault((entry_pk, person_id), set()).add(kind)
    if not agreeing:
        return {}
    people = _markers(BlindIndex, "person_id", sorted({p for _, p in agreeing}), _PERSON_MARKERS)
    entries = _markers(ScreeningToken, "entry_id", sorted({e for e, _ in agreeing}), _ENTRY_MARKERS)
    found: dict[tuple[str, int, str], str] = {}
    for (entry_pk, person_id), kinds in agreeing.items():
        strength = matching.screening_strength(
            kinds, frozenset(people.get(person_id, ())), frozenset(entries.get(entry_pk, ()))
        )
        if strength is not None:
            found[(person_id, entry_pk, HitVia.APPLICANT.value)] = strength
        # A relative's name is keyed alone (no birth date), under two keys that must both agree.
        if KIN_NAME in kinds and KIN_NAME_CHECK in kinds:
            found[(person_id, entry_pk, HitVia.NEXT_OF_KIN.value)] = HitStrength.MATCH.value
    return found


def _record(found: dict[tuple[str, int, str], str], *, now: Any, actor: str) -> list[ScreeningHit]:
    """Stores new hits (and a possible that became a match), flags their cases, audits per person."""
    if not found:
        return []
    people = sorted({person_id for person_id, _, _ in found})
    existing: dict[tuple[str, int, str], ScreeningHit] = {}
    for chunk in _chunks(people):
        for hit in ScreeningHit.objects.filter(person_id__in=list(chunk)):
            existing[(hit.person_id, hit.entry_id, hit.via)] = hit
    new: list[ScreeningHit] = []
    stronger: list[ScreeningHit] = []
    for (person_id, entry_pk, via), strength in sorted(found.items()):
        known = existing.get((person_id, entry_pk, via))
        if known is None:
            new.append(
                ScreeningHit(
                    person_id=person_id,
                    entry_id=entry_pk,
                    via=via,
                    strength=strength,
                    state=HitState.OPEN,
                    created_at=now,
                )
            )
        elif _STRENGTH_ORDER[strength] > _STRENGTH_ORDER[known.strength]:
            known.strength = strength
            known.state = HitState.OPEN
            known.resolved_at = None
            stronger.append(known)
    # A list load and an arrival may find the same hit at once: the second insert is a no-op,
    # never a failed application.
    ScreeningHit.objects.bulk_create(new, batch_size=_CHUNK, ignore_conflicts=True)
    ScreeningHit.objects.bulk_update(stronger, ["strength", "state", "resolved_at"], batch_size=_CHUNK)
    changed = new + stronger
    if not changed:
        return []
    flagged = sorted({hit.person_id for hit in changed})
    for chunk in _chunks(flagged):
        Case.objects.filter(person_id__in=list(chunk)).update(flagged=True)
    entry_ids: dict[int, str] = {}
    for chunk in _chunks(sorted({h.entry_id for h in changed})):
        entry_ids.update(ScreeningEntry.objects.filter(pk__in=list(chunk)).values_list("pk", "entry_id"))
    by_person: dict[str, list[ScreeningHit]] = {}
    for hit in changed:
        by_person.setdefault(hit.person_id, []).append(hit)
    audit_record_many(
        [
            AuditItem(
                actor=actor,
                action="screening.list_hit",
                subject=person_id,
                details={
                    "entries": sorted({entry_ids[h.entry_id] for h in hits}),
                    "via": sorted({h.via for h in hits}),
                    "strength": sorted({h.strength for h in hits}),
                },
            )
            for person_id, hits in sorted(by_person.items())
        ]
    )
    return changed


def screen_people(person_ids: Sequence[str], *, actor: str = SYSTEM_SCREENING, now: Any = None) -> int:
    """Screens these people (and their next of kin) against every loaded list; returns new hits.

    For arrival: runs inside the caller's transaction, so the application and its hits are
    stored together or not at all.
    """
    if not person_ids or not ScreeningList.objects.exists():
        return 0
    now = now or timezone.now()
    found: dict[tuple[str, int, str], str] = {}
    for chunk in _chunks(list(person_ids)):
        marks = ", ".join(["%s"] * len(chunk))
        found.update(_evaluate(_agreeing_rows(f"b.person_id IN ({marks})", chunk)))
    return len(_record(found, now=now, actor=actor))


def screen_list(screening_list: ScreeningList, *, now: Any = None) -> int:
    """Screens everyone against one list with a single join; returns the new (or stronger) hits.

    Open cases in vetting with a new match get their CI check at once (``_screen_case``); cases
    not yet started are flagged; decided cases (approved, serving, denied) are flagged and their
    hits wait on the CI officer's page: a hit never changes a decision by itself.
    """
    now = now or timezone.now()
    found = _evaluate(_agreeing_rows("e.screening_list_id = %s", [screening_list.pk]))
    changed = _record(found, now=now, actor=SYSTEM_SCREENING)
    matched = sorted({h.person_id for h in changed if h.strength == HitStrength.MATCH})
    if matched:
        from legionary.vetting.services import OPEN_VETTING_STATES, _screen_case

        for chunk in _chunks(matched):
            for case in Case.objects.filter(person_id__in=list(chunk), state__in=OPEN_VETTING_STATES):
                _screen_case(case, now)
    return len(changed)


# --- reading and resolving hits ---------------------------------------------------------------------


@dataclass(frozen=True)
class HitRow:
    """One hit as pages and the CLI show it: plain values, no model to poke at."""

    id: int
    member: str
    person_id: str
    list: str
    entry: str
    caption: str
    via: str
    strength: str
    state: str
    created_at: Any


def _rows(hits: Any) -> list[HitRow]:
    return list(_hit_rows(hits))


def _hit_rows(hits: Any) -> Iterator[HitRow]:
    """The hits in the order they were found, read a couple of thousand at a time (a server-side
    cursor on PostgreSQL): every hit of a million people without holding them all."""
    return (
        HitRow(
            id=hit.pk,
            member=hit.person.external_ref or hit.person_id,
            person_id=hit.person_id,
            list=hit.entry.screening_list.name,
            entry=hit.entry.entry_id,
            caption=hit.entry.caption,
            via=hit.via,
            strength=hit.strength,
            state=hit.state,
            created_at=hit.created_at,
        )
        for hit in hits.select_related("person", "entry__screening_list")
        .order_by("created_at", "pk")
        .iterator(chunk_size=2000)
    )


def screening_hits(*, state: str | None = None) -> Iterator[HitRow]:
    """Every hit, whatever the state of the person's case (for ``legionary screening hits``), read
    as it is used: never all held at once."""
    hits = ScreeningHit.objects.all()
    if state is not None:
        hits = hits.filter(state=state)
    return _hit_rows(hits)


def hits_for_person(person_id: str) -> list[HitRow]:
    """The hits of one person (for the CI officer's flag page: both strengths, labelled)."""
    return _rows(ScreeningHit.objects.filter(person_id=person_id))


def screening_hit_resolve(*, hit_id: int, actor: Any) -> ScreeningHit:
    """Marks a hit resolved (the CI officer has looked at it), audited."""
    with transaction.atomic():
        from legionary.vetting.services import holds_role

        hit = ScreeningHit.objects.select_related("person", "entry").filter(pk=hit_id).first()
        # Counter-intelligence only, in the person's legion; anyone else is told there is no such hit.
        if hit is None or not holds_role(actor, Role.CI_OFFICER, hit.person.legion):
            raise ScreeningError("There is no such screening hit.")
        if hit.state == HitState.RESOLVED:
            return hit
        hit.state = HitState.RESOLVED
        hit.resolved_at = timezone.now()
        hit.resolved_by = actor
        hit.save(update_fields=["state", "resolved_at", "resolved_by"])
        audit_record(
            actor=str(actor.get_username()),
            action="screening.hit_resolved",
            subject=hit.person_id,
            details={"hit": hit.pk, "entry": hit.entry.entry_id},
        )
    return hit
