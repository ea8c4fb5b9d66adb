"""A case's history as sentences for the case page's timeline (raw event names stay in the audit log viewer).

Reads the audit entries about the case's person (by pseudonymous id) and turns each into a
translated sentence: "Case assigned to ivan as case officer", "Polygraph examination recorded:
clear". Shows only plain, non-identifying details (never an unseal's reason: that stays in the
audit log, where auditors read it). Never writes; one query for the entries and one for the
check-type names, whatever their number.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from legionary.audit.models import Entry
from legionary.vetting.catalogue import check_type_name
from legionary.vetting.models import Case, CaseState, CheckResult, CheckType, Outcome, PolygraphOutcome, Severity


@dataclass(frozen=True)
class TimelineItem:
    """One event: ``title`` is the sentence, ``by`` who did it, ``when`` the moment."""

    title: str
    by: str
    when: datetime.datetime
    text: str = ""


def _label(choices: Any, value: Any) -> str:
    return str(dict(choices.choices).get(value, value)) if value else ""


def who(actor: str) -> str:
    """An audit actor as a reader names it: a username, or what the system part is."""
    if actor.startswith("intake:"):
        return _("the application service")
    if actor == "system:screening":
        return _("automatic screening")
    if actor.startswith("system:"):
        return _("the system")
    return actor


Sentence = Callable[[dict[str, Any], Callable[[str], str]], str]


def _decision(d: dict[str, Any], _name: Callable[[str], str]) -> str:
    outcome = _label(Outcome, d.get("outcome"))
    seat = d.get("seat")
    if seat == 3:
        text = _("Senior adjudicator decided: %(outcome)s") % {"outcome": outcome}
    elif seat == 2:
        text = _("Second adjudicator decided: %(outcome)s") % {"outcome": outcome}
    else:
        text = _("First adjudicator decided: %(outcome)s") % {"outcome": outcome}
    if d.get("state"):
        text += ". " + _("The case is now %(state)s.") % {"state": _label(CaseState, d["state"]).lower()}
    return text


def _recorded(d: dict[str, Any], name: Callable[[str], str]) -> str:
    text = _("%(check)s recorded: %(result)s") % {
        "check": name(d.get("type", "")),
        "result": _label(CheckResult, d.get("result")).lower(),
    }
    if d.get("polygraph_outcome"):
        text += " (" + _label(PolygraphOutcome, d["polygraph_outcome"]).lower() + ")"
    return text


def _assigned_many(d: dict[str, Any], name: Callable[[str], str]) -> str:
    pairs = [
        _("%(check)s to %(who)s") % {"check": name(t), "who": a}
        for t, a in zip(d.get("types", []), d.get("assignees", []), strict=False)
    ]
    return _("Checks assigned: %(list)s") % {"list": "; ".join(pairs)}


def _resolved(d: dict[str, Any], _name: Callable[[str], str]) -> str:
    if d.get("resolution") == "same_person":
        return _("Possible duplicate resolved: the same person as %(other)s") % {"other": d.get("other", "")}
    return _("Possible duplicate resolved: different people from %(other)s") % {"other": d.get("other", "")}


SENTENCES: dict[str, Sentence] = {
    "application.received": lambda d, n: _("Application received"),
    "person.created": lambda d, n: _("Identity sealed and call sign given"),
    "screening.flagged": lambda d, n: _("Screening found a possible earlier application of the same person"),
    "case.assigned": lambda d, n: _("Case assigned to %(who)s as case officer") % {"who": d.get("assignee", "")},
    "case.started": lambda d, n: (
        ngettext(
            "Vetting started with %(count)d check", "Vetting started with %(count)d checks", len(d.get("checks", []))
        )
        % {"count": len(d.get("checks", []))}
    ),
    "checks.assigned": _assigned_many,
    "check.assigned": lambda d, n: (
        _("%(check)s assigned to %(who)s") % {"check": n(d.get("type", "")), "who": d.get("assignee", "")}
    ),
    "check.recorded": _recorded,
    "check.added": lambda d, n: _("%(check)s added") % {"check": n(d.get("type", ""))},
    "case.submitted": lambda d, n: _("Every check has its result: the case waits for a decision"),
    "finding.recorded": lambda d, n: (
        _("Finding recorded under guideline %(guideline)s (%(severity)s)")
        % {"guideline": d.get("guideline", ""), "severity": _label(Severity, d.get("severity")).lower()}
    ),
    "decision.recorded": _decision,
    "case.appealed": lambda d, n: _("Appeal entered: a new pair of adjudicators decides"),
    "identity.unsealed": lambda d, n: _("Identity opened, with a recorded reason"),
    "record.unsealed": lambda d, n: _("A sealed note opened, with a recorded reason"),
    "document.unsealed": lambda d, n: _("A document opened, with a recorded reason"),
    "screening.list_hit": lambda d, n: _("Screening found a designation-list entry: a CI review was opened"),
    "flag.resolved": _resolved,
    "identity.erased": lambda d, n: _("Identity erased"),
}


def case_timeline(case: Case) -> list[TimelineItem]:
    """The case's events as sentences, newest first."""
    names = {t.slug: check_type_name(t) for t in CheckType.objects.all()}

    def name(slug: str) -> str:
        return names.get(slug, slug)

    items: list[TimelineItem] = []
    for entry in Entry.objects.filter(subject=case.person_id).order_by("-index"):
        sentence = SENTENCES.get(entry.action)
        if sentence is None:
            title = _("Recorded in the audit log")
        else:
            details = json.loads(bytes(entry.body)).get("details", {})
            title = sentence(details if isinstance(details, dict) else {}, name)
        items.append(TimelineItem(title=title, by=who(entry.actor), when=entry.created_at))
    return items
