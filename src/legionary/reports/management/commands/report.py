"""``legionary report pipeline [--json] [--legion SLUG] [--since DATE] [--until DATE] [--exact] [--live]``
and ``legionary report refresh [--json] [--if-older-than MINUTES]``.

``pipeline``: the dashboard's figures on the command line, for the whole system (an operator on
the machine), drawn from the same tables as the page, so small numbers are hidden the same way
unless ``--exact`` is given; an exact report is recorded in the audit log before it is printed.
Like the page, it reads the newest rollup when there is one (and says as of when), else counts
live; ``--live`` always counts live.

``refresh``: counts a new rollup (``reports.rollup``), meant for a systemd timer or cron; a
progress bar on a terminal. Interrupted or failed, it leaves the previous rollup in use.
``--if-older-than`` skips the work while the newest rollup is younger than that.

Must never print a person's call sign or id: aggregates only.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from typing import Any

from django.core.management.base import CommandParser
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from legionary.audit.services import audit_record
from legionary.commands import LegionaryCommand, UsageError, operator_actor
from legionary.intake.legions import KNOWN_LEGIONS
from legionary.reports import rollup
from legionary.reports.selectors import Period, pipeline_dashboard, system_scope
from legionary.reports.tables import Protection, Table, dashboard_sections, source_note


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a date; write it as YYYY-MM-DD.") from None


class Command(LegionaryCommand):
    help = "Prints pipeline figures: the funnel, time in each stage, checks, flags, denials, cohorts, units."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="report", required=True)
        pipeline = sub.add_parser("pipeline", help="The dashboard's figures for the whole system.")
        pipeline.add_argument("--json", action="store_true", help="Print one JSON document.")
        pipeline.add_argument("--legion", default="", metavar="SLUG", help="Only this legion.")
        pipeline.add_argument("--since", default="", metavar="DATE", help="Applications received on or after DATE.")
        pipeline.add_argument("--until", default="", metavar="DATE", help="Applications received on or before DATE.")
        pipeline.add_argument(
            "--exact", action="store_true", help="Show small counts exactly (recorded in the audit log)."
        )
        pipeline.add_argument(
            "--live", action="store_true", help="Count from the records now, not from the rollup (slow when large)."
        )
        refresh = sub.add_parser(
            "refresh", help="Pre-count the figures for the dashboard (run it from a timer; see docs/reports.md)."
        )
        refresh.add_argument("--json", action="store_true", help="Print one JSON document about the refresh.")
        refresh.add_argument(
            "--if-older-than",
            default=None,
            metavar="MINUTES",
            help="Do nothing while the newest rollup is younger than MINUTES.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["report"] == "refresh":
            self._refresh(options)
            return
        self._pipeline(options)

    def _refresh(self, options: dict[str, Any]) -> None:
        limit = options["if_older_than"]
        minutes = None
        if limit is not None:
            if not limit.isdigit():
                raise UsageError(f"--if-older-than takes a whole number of minutes, not {limit!r}.")
            minutes = int(limit)
        newest = rollup.latest()
        if minutes is not None and newest is not None:
            age = timezone.now() - newest[1]
            if age < datetime.timedelta(minutes=minutes):
                self._refresh_done({"refreshed": False, "as_of": newest[1].isoformat()}, options, "")
                return
        bar = None
        if os.isatty(2) and not options["json"]:
            bar = tqdm(total=0, unit="person", desc="counting", file=sys.stderr)

        def progress(done: int, total: int) -> None:
            if bar is not None:
                bar.total = total
                bar.update(done - bar.n)

        try:
            report = rollup.refresh(progress=progress)
        finally:
            if bar is not None:
                bar.close()
        document = {
            "refreshed": True,
            "as_of": report.started_at.isoformat(),
            "people": report.people,
            "rows": report.rows,
            "seconds": round(report.seconds, 1),
            "removed": report.removed,
        }
        line = (
            f"Counted {report.people} people into {report.rows} rows in {report.seconds:.1f} s; "
            f"the dashboard now shows figures as of {report.started_at:%Y-%m-%d %H:%M} UTC.\n"
        )
        self._refresh_done(document, options, line)

    def _refresh_done(self, document: dict[str, Any], options: dict[str, Any], line: str) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(document))
        elif line:
            self.stdout.write(line)
        else:
            self.stdout.write(f"The newest rollup is recent enough (as of {document['as_of']}); nothing to do.\n")

    def _pipeline(self, options: dict[str, Any]) -> None:
        legion = options["legion"]
        if legion and legion not in KNOWN_LEGIONS:
            raise UsageError(f"unknown legion {legion!r}. Known legions: {', '.join(sorted(KNOWN_LEGIONS))}.")
        period = Period(
            legion=legion,
            since=_date(options["since"]) if options["since"] else None,
            until=_date(options["until"]) if options["until"] else None,
        )
        if period.since and period.until and period.since > period.until:
            raise UsageError("--until is before --since; swap the two dates.")
        exact = bool(options["exact"])
        protection = Protection(exact=exact)
        figures = pipeline_dashboard(system_scope(exact=exact), period, live=bool(options["live"]))
        sections = dashboard_sections(figures, protection)
        if exact:
            with transaction.atomic():
                audit_record(
                    actor=operator_actor(),
                    action="reports.exact_printed",
                    details={
                        "report": "pipeline",
                        "legion": period.legion or None,
                        "since": options["since"] or None,
                        "until": options["until"] or None,
                    },
                )
        tables = [t for s in sections for t in s.tables]
        if options["json"]:
            document = {
                "scope": "system",
                "exact": exact,
                "threshold": protection.threshold,
                "period": {
                    "legion": period.legion or None,
                    "since": options["since"] or None,
                    "until": options["until"] or None,
                },
                "source": {
                    "kind": figures.source,
                    "as_of": figures.as_of.isoformat() if figures.as_of is not None else None,
                },
                "tables": {t.id: t.records() for t in tables},
            }
            self.stdout.write(json.dumps(document, ensure_ascii=False, indent=2))
            return
        if figures.as_of is not None:
            self.stdout.write(source_note(figures.as_of) + "\n")
        else:
            self.stdout.write("Figures counted now from the records.\n")
        if not exact:
            self.stdout.write(f'Counts from 1 to {protection.threshold - 1} are shown as "< {protection.threshold}".\n')
        for table in tables:
            self.stdout.write(_render(table))


def _render(table: Table) -> str:
    header = [str(c.label) for c in table.columns]
    rows = [[cell.text for cell in row] for row in table.rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    numeric = [c.numeric for c in table.columns]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cells, widths, numeric, strict=True))

    out = [f"\n{table.title}", line(header), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in rows)
    if not rows:
        out.append("(nothing to show)")
    return "\n".join(out) + "\n"
