"""``legionary vetting retention [--now DATE]``: erase denied people's identities after retention.

Idempotent and audited: running it twice erases nothing more. ``--now`` sets the date the
retention periods are counted to (for a catch-up run, or a dry look at a later date's effect).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import CommandParser

from legionary.commands import LegionaryCommand, UsageError
from legionary.vetting import services


class Command(LegionaryCommand):
    help = "Vetting housekeeping: erase denied people's sealed identities after their legion's retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        retention = sub.add_parser("retention", help="Erase sealed identities whose retention period has ended.")
        retention.add_argument("--now", help="Count retention periods to this date (YYYY-MM-DD), not today.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = None
        if options.get("now"):
            try:
                day = datetime.date.fromisoformat(options["now"])
            except ValueError:
                raise UsageError("--now takes a date as YYYY-MM-DD.") from None
            now = datetime.datetime.combine(day, datetime.time.max, tzinfo=datetime.UTC)
        erased = services.retention_run(now=now)
        self.stdout.write(f"Erased {len(erased)} sealed identities of denied people; their screening indexes stay.")
        for person_id in erased:
            self.stdout.write(person_id)
