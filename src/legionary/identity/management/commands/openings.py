"""``legionary openings summary [--date YYYY-MM-DD] [--json]``: the openings monitor's daily summary.

One day (today in the monitor's time zone by default) for the whole system: the figures (openings,
staff, people, out of hours, of people not assigned, break-glass requests, people opened by more
than N staff, unusual items) and, with ``--json``, the unusual items behind them. Staff by account,
people by pseudonymous id and call sign: never a name. The reading is recorded in the audit log
under the operator's name, as a view of the monitor is.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from legionary.audit.services import audit_record
from legionary.commands import LegionaryCommand, UsageError, operator_actor
from legionary.identity import monitor


class Command(LegionaryCommand):
    help = "The openings monitor's daily summary (who opened sealed data, and what stands out)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        summary = sub.add_parser("summary", help="One day's figures and unusual items.")
        summary.add_argument("--date", default="", help="The day, YYYY-MM-DD (default: today in the monitor's zone).")
        summary.add_argument("--json", action="store_true", help="One JSON document on stdout, with the items.")

    def handle(self, *args: Any, **options: Any) -> None:
        hours = monitor.working_hours()
        day = options["date"] or monitor.today_in(hours.zone).isoformat()
        try:
            period = monitor.period_of(choice=monitor.CUSTOM, first=day, last=day, zone=hours.zone)
        except monitor.MonitorError as exc:
            message = str(exc).replace("first date", "date").replace("last date", "date")
            raise UsageError(message) from None
        document = monitor.summary_document(period=period, scope=monitor.EVERYTHING, hours=hours, with_items=True)
        audit_record(
            actor=operator_actor(),
            action="openings.summary_exported",
            details={"first": day, "last": day, "legions": "all", "format": "json" if options["json"] else "text"},
        )
        if options["json"]:
            self.stdout.write(json.dumps(document, ensure_ascii=False))
            return
        d = document["days"][0]
        self.stdout.write(
            f"{d['date']} ({document['time_zone']}, working hours {document['working_hours']}): "
            f"{d['openings']} openings by {d['staff']} staff of {d['people']} people; "
            f"{d['out_of_hours']} out of hours, {d['unassigned']} of people not assigned, "
            f"{d['break_glass_requests']} break-glass requests, {d['people_over_limit']} people opened by more than "
            f"{document['distinct_staff_limit']} staff: {d['unusual']} unusual."
        )
        for item in document["out_of_hours"]:
            self.stdout.write(f"out of hours  {item['at']}  {item['account']}  {item['person']}  {item['kind']}")
        for item in document["unassigned"]:
            self.stdout.write(f"not assigned  {item['at']}  {item['account']}  {item['person']}  {item['kind']}")
        for item in document["break_glass_requests"]:
            self.stdout.write(
                f"break-glass   {item['requested_at']}  {item['requester']}  {item['person']}  {item['state']}"
                + (f"  decided by {item['approver']}" if item["approver"] else "")
            )
        for item in document["people_over_limit"]:
            self.stdout.write(f"many staff    {item['person']}  {item['staff']} staff: {', '.join(item['accounts'])}")
