"""``legionary import FILE [--json]``: applications from a JSON Lines file, as the contract says.

Streams the file line by line (memory stays flat whatever its size; a line longer than an
application may be is rejected without being held whole), validates each line with the intake
parser and stores valid lines in batches (``applications_import_batch``, one transaction per
batch of ``--batch-size`` lines), so an interruption leaves only whole records and a second run
continues where the first stopped: a line whose ``external_ref`` is already stored is skipped,
not stored twice. Should a batch fail as a whole (a concurrent run took one of its references),
its lines are stored one by one with ``application_submit`` so that only the clashing line is
affected.

Never prints or logs a line's content: a rejection names the line number and the field.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from django.core.management.base import CommandError, CommandParser
from django.db import IntegrityError
from tqdm import tqdm

from legionary.commands import EXIT_PARTIAL, LegionaryCommand, UsageError
from legionary.identity.models import Person
from legionary.identity.services import IdentityError, check_keyring_ready
from legionary.intake.schema import MAX_APPLICATION_BYTES, Application, ApplicationInvalid, parse_application
from legionary.intake.services import Channel, IntakeError, application_submit, applications_import_batch

_READ = 64 * 1024


def _lines(source: BinaryIO) -> Iterator[tuple[bytes | None, int]]:
    """Yields (line, bytes consumed); line is None when it was longer than an application may be."""
    while True:
        line = source.readline(MAX_APPLICATION_BYTES + 2)
        if not line:
            return
        if len(line) > MAX_APPLICATION_BYTES and not line.endswith(b"\n"):
            consumed = len(line)
            # Skip the rest of the oversized line in bounded reads.
            while True:
                rest = source.readline(_READ)
                consumed += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None, consumed
        else:
            yield line, len(line)


class Command(LegionaryCommand):
    help = "Imports applications from a JSON Lines file (one application per line)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="JSON Lines file, one application per line")
        parser.add_argument("--json", action="store_true", help="print one JSON document with the result")
        parser.add_argument("--batch-size", type=int, default=200, help="lines per transaction (default 200)")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise UsageError(f"{path} is not a file. Give the path of a JSON Lines file.")
        try:
            check_keyring_ready()
        except IdentityError as exc:
            raise UsageError(str(exc)) from None
        try:
            source = path.open("rb")
        except OSError as exc:
            raise UsageError(f"Cannot read {path} ({exc.strerror}).") from None

        if not 1 <= options["batch_size"] <= 5000:
            raise UsageError("--batch-size must be between 1 and 5000.")
        self.accepted = self.flagged = self.already = 0
        self.rejected: list[dict[str, Any]] = []
        show_progress = sys.stderr.isatty() and not options["json"]
        pending: list[tuple[int, Application]] = []
        with (
            source,
            tqdm(
                total=path.stat().st_size, unit="B", unit_scale=True, disable=not show_progress, file=sys.stderr
            ) as bar,
        ):
            for number, (line, size) in enumerate(_lines(source), start=1):
                bar.update(size)
                if line is None:
                    self.rejected.append({"line": number, "error": f"longer than {MAX_APPLICATION_BYTES // 1024} KiB"})
                    continue
                if not line.strip():
                    continue
                try:
                    pending.append((number, parse_application(line.rstrip(b"\r\n"))))
                except ApplicationInvalid as exc:
                    self.rejected.append({"line": number, "error": str(exc)})
                    continue
                if len(pending) >= options["batch_size"]:
                    self._store(pending)
                    pending = []
            self._store(pending)
        accepted, flagged, already, rejected = self.accepted, self.flagged, self.already, self.rejected
        rejected.sort(key=lambda item: int(item["line"]))

        if options["json"]:
            result = {
                "accepted": accepted,
                "rejected": rejected,
                "duplicates_flagged": flagged,
                "already_imported": already,
            }
            self.stdout.write(json.dumps(result, ensure_ascii=False))
        else:
            self.stdout.write(
                f"{accepted} accepted, {len(rejected)} rejected, {flagged} flagged as possible duplicates, "
                f"{already} already imported."
            )
            for item in rejected[:50]:
                self.stderr.write(f"line {item['line']}: {item['error']}")
            if len(rejected) > 50:
                self.stderr.write(f"... and {len(rejected) - 50} more rejected lines (use --json for all).")
        if rejected:
            raise CommandError(
                f"{len(rejected)} line(s) were rejected; the others were stored. Fix those lines and run again.",
                returncode=EXIT_PARTIAL,
            )

    def _store(self, pending: list[tuple[int, Application]]) -> None:
        if not pending:
            return
        try:
            result = applications_import_batch(applications=[application for _, application in pending])
        except (IntegrityError, IdentityError, IntakeError):
            # The batch rolled back whole; store its lines one by one so only the bad one fails.
            for number, application in pending:
                self._store_one(number, application)
            return
        self.accepted += result.accepted
        self.flagged += result.flagged
        self.already += result.already_imported

    def _store_one(self, number: int, application: Application) -> None:
        ref = application.external_ref
        if ref and Person.objects.filter(external_ref=ref).exists():
            self.already += 1
            return
        try:
            submission = application_submit(application=application, channel=Channel.IMPORT)
        except IntegrityError:
            self.already += 1  # stored by a concurrent run between the check and the insert
            return
        except (IdentityError, IntakeError) as exc:
            self.rejected.append({"line": number, "error": str(exc)})
            return
        self.accepted += 1
        self.flagged += 1 if submission.flags else 0
