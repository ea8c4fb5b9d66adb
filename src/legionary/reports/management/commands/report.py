"""``legionary report pipeline [--json] [--legion SLUG] [--since DATE] [--until DATE] [--exact]``.

The dashboard's figures on the command line, for the whole system (an operator on the machine),
drawn from the same tables as the page, so small numbers are hidden the same way unless
``--exact`` is given; an exact report is recorded in the audit log before it is printed. Must
never print a person's call sign or id: aggregates only.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.core.management.base import CommandParser
from django.db import transaction

from legionary.audit.services import audit_record
from legionary.commands import LegionaryCommand, UsageError
from legionary.intake.legions import KNOWN_LEGIONS
from legionary.reports.selectors import Period, pipeline_dashboard, system_scope
from legionary.reports.tables import Protection, Table, dashboard_sections

ACTOR = "cli"


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

    def handle(self, *args: Any, **options: Any) -> None:
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
        sections = dashboard_sections(pipeline_dashboard(system_scope(exact=exact), period), protection)
        if exact:
            with transaction.atomic():
                audit_record(
                    actor=ACTOR,
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
                "tables": {t.id: t.records() for t in tables},
            }
            self.stdout.write(json.dumps(document, ensure_ascii=False, indent=2))
            return
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
