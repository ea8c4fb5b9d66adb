"""``legionary duplicates --json``: groups of records screening considers one person, and pairs a
person should review, from blind indexes only (nothing is decrypted).

``legionary duplicates backfill-possible [--batch-size N] [--json]``: marks the cases that arrived
before cases carried a possible-duplicate mark, as arrival marks new ones (once, after the upgrade
that brought the mark; idempotent, audited; docs/operations.md).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from django.core.management.base import CommandParser
from tqdm import tqdm

from legionary.commands import LegionaryCommand, UsageError, operator_actor
from legionary.identity import services
from legionary.identity.models import Person
from legionary.vetting.duplicates import apply_resolutions
from legionary.vetting.models import Case
from legionary.vetting.services import possible_backfill


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
        screened = services.duplicate_screen()
        # A counter-intelligence officer's conclusions (same person / different people) applied.
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
        refs: dict[str, str | None] = {}
        listed = sorted(ids)
        for start in range(0, len(listed), 500):
            chunk = listed[start : start + 500]
            refs.update(Person.objects.filter(id__in=chunk).values_list("id", "external_ref"))
        groups: list[dict[str, Any]] = [
            {
                "members": [refs.get(m) or m for m in group.members],
                "reasons": list(group.reasons),
                "confirmed": group.confirmed,
            }
            for group in resolved.groups
        ]
        possible = [
            {"members": [refs.get(m) or m for m in pair.members], "reasons": list(pair.reasons)} for pair in pairs
        ]
        dismissed = [
            {"members": [refs.get(m) or m for m in pair], "reasons": ["different_people"]}
            for pair in resolved.dismissed
        ]
        if options["json"]:
            self.stdout.write(
                json.dumps({"groups": groups, "possible": possible, "dismissed": dismissed}, ensure_ascii=False)
            )
            return
        for group in groups:
            self.stdout.write(f"{', '.join(group['members'])}  ({', '.join(group['reasons'])})")
        for pair in possible:
            self.stdout.write(f"possible: {', '.join(pair['members'])}  ({', '.join(pair['reasons'])})")
        self.stdout.write(f"{len(groups)} groups, {len(possible)} possible pairs to review.")

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
