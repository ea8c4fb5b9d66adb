"""``legionary duplicates --json``: groups of records screening considers one person, and pairs a
person should review, from blind indexes only (nothing is decrypted).

Streamed in flat memory (``identity.services.duplicate_tiers``): the groups and possible pairs are
written as they are read, in order, never all held at once. A counter-intelligence officer's
conclusions (``vetting.duplicates``) change only the groups that hold one of their two people:
those few are read first and resolved, the others written as the screen found them.

``legionary duplicates backfill-possible [--batch-size N] [--json]``: marks the cases that arrived
before cases carried a possible-duplicate mark, as arrival marks new ones (once, after the upgrade
that brought the mark; idempotent, audited; docs/operations.md).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from typing import Any

from django.core.management.base import CommandParser
from tqdm import tqdm

from legionary.commands import JsonList, LegionaryCommand, StreamedText, UsageError, operator_actor
from legionary.identity import services
from legionary.identity.models import Person
from legionary.vetting.duplicates import ResolvedGroup, resolution_pairs, resolve
from legionary.vetting.models import Case
from legionary.vetting.services import possible_backfill


def _external_refs(person_ids: Iterable[str]) -> dict[str, str | None]:
    refs: dict[str, str | None] = {}
    listed = sorted(set(person_ids))
    for start in range(0, len(listed), 500):
        chunk = listed[start : start + 500]
        refs.update(Person.objects.filter(id__in=chunk).values_list("id", "external_ref"))
    return refs


class Command(LegionaryCommand):
    help = "Lists groups of records that screening considers the same person, and possible pairs (blind indexes only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")
        # Optional, so that ``legionary duplicates [--json]`` stays what the contract says.
        sub = parser.add_subparsers(dest="action", required=False)
        backfill = sub.add_parser(
            "backfill-possible",
            help="Mark the cases that arrived before the possible-duplicate mark existed, as arrival would have.",
        )
        backfill.add_argument("--batch-size", type=int, default=1000)
        backfill.add_argument("--json", action="store_true", dest="backfill_json")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("action") == "backfill-possible":
            self._backfill(batch_size=options["batch_size"], as_json=options["json"] or options["backfill_json"])
            return
        as_json = bool(options["json"])
        out = StreamedText(self.stdout)
        concluded = resolution_pairs()
        with services.duplicate_tiers() as tiers:
            # The groups the officers' conclusions touch, resolved; every other group stays as found.
            touched = list(tiers.groups(holding={p for a, b, _ in concluded for p in (a, b)}))
            resolved = resolve([([m.person_id for m in g.members], list(g.reasons)) for g in touched], concluded)
            kept: dict[str, ResolvedGroup] = {
                touched[g.origin].label: g for g in resolved.groups if g.origin is not None
            }
            touched_labels = {g.label for g in touched}
            touched_people = {m.person_id for g in touched for m in g.members}
            touched_people |= {p for a, b, _ in concluded for p in (a, b)}
            grouped_touched = {m for g in resolved.groups for m in g.members}
            dismissed = {frozenset(pair) for pair in resolved.dismissed}
            refs = _external_refs(touched_people)

            def ref(person_id: str) -> str:
                return refs.get(person_id) or person_id

            def grouped(member: services.Member, label: str | None) -> bool:
                if member.person_id in touched_people:
                    return member.person_id in grouped_touched
                return label is not None

            groups = JsonList(out, "groups", first=True) if as_json else None
            group_count = 0

            def emit_group(members: list[str], reasons: list[str], confirmed: bool) -> None:
                nonlocal group_count
                group_count += 1
                if groups is not None:
                    groups.add({"members": members, "reasons": reasons, "confirmed": confirmed})
                else:
                    out.write(f"{', '.join(members)}  ({', '.join(reasons)})\n")

            for group in tiers.groups():
                if group.label not in touched_labels:
                    emit_group([m.ref for m in group.members], list(group.reasons), False)
                elif (kept_group := kept.get(group.label)) is not None:
                    emit_group([ref(m) for m in kept_group.members], list(kept_group.reasons), kept_group.confirmed)
            for made in resolved.groups:
                if made.origin is None:
                    emit_group([ref(m) for m in made.members], list(made.reasons), made.confirmed)
            if groups is not None:
                groups.close()

            possible = JsonList(out, "possible", first=False) if as_json else None
            pair_count = 0
            for pair in tiers.possible():
                a, b = pair.members
                if frozenset((a.person_id, b.person_id)) in dismissed:
                    continue
                if grouped(a, pair.labels[0]) and grouped(b, pair.labels[1]):
                    continue
                pair_count += 1
                if possible is not None:
                    possible.add({"members": [a.ref, b.ref], "reasons": list(pair.reasons)})
                else:
                    out.write(f"possible: {a.ref}, {b.ref}  ({', '.join(pair.reasons)})\n")
            if possible is not None:
                possible.close()
                different = JsonList(out, "dismissed", first=False)
                for first, second in resolved.dismissed:
                    different.add({"members": [ref(first), ref(second)], "reasons": ["different_people"]})
                different.close(end=True)
            else:
                out.write(f"{group_count} groups, {pair_count} possible pairs to review.\n")
            out.flush()

    def _backfill(self, *, batch_size: int, as_json: bool) -> None:
        if batch_size < 1:
            raise UsageError("--batch-size must be at least 1.")
        # The total only sizes the progress bar: unmarked cases at the start (arrivals add none).
        total = Case.objects.filter(possible="").count()
        with tqdm(total=total, desc="cases", unit="case", file=sys.stderr, disable=not os.isatty(2)) as bar:
            done = possible_backfill(actor=operator_actor(), batch_size=batch_size, progress=bar.update)
        if as_json:
            self.stdout.write(json.dumps({"examined": done.examined, "open": done.open, "concluded": done.concluded}))
            return
        self.stdout.write(
            f"Looked at {done.examined} cases without a possible-duplicate mark: {done.open} marked as possible"
            f" duplicates to review, {done.concluded} as concluded (a counter-intelligence officer had already"
            " concluded on every pair)."
        )
