"""The dashboard's figures as tables of cells: the one place where small numbers are hidden.

Responsible for turning the exact figures of ``reports.selectors`` into the tables that every
output draws from (the page's tables and SVG charts, CSV, XLSX, the PDF summary and
``legionary report pipeline``), so small-number protection is applied once and holds everywhere.
For a viewer who may not unseal identities, a count from 1 to threshold − 1 becomes the text
"< threshold" with no number behind it, and so does every figure derived from such a count (a
median of three people's waiting times, a unit's strength in per cent). Zero is shown: it singles
out nobody. Totals are summed from exact counts and then protected on their own.

Must never: hand out a hidden count in any form (a bar length, a number cell, a JSON number), or
query the database.
"""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from legionary.identity.models import PersonStatus
from legionary.intake.legions import KNOWN_LEGIONS
from legionary.reports.selectors import FUNNEL_STAGES, Dashboard
from legionary.units.models import UnitKind
from legionary.vetting.guidelines import GUIDELINES

Label = str | Promise


@dataclass(frozen=True)
class Cell:
    """One shown value: its text, and its number unless it is hidden or not a number."""

    text: str
    number: int | float | None = None
    hidden: bool = False

    def json(self) -> str | int | float | None:
        return self.number if self.number is not None else (self.text or None)


@dataclass(frozen=True)
class Column:
    key: str
    label: Label
    numeric: bool = False


@dataclass
class Table:
    """A titled table with stable ``id`` (used in page ids, export URLs and JSON keys)."""

    id: str
    title: Label
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    # The chart drawn from this table, if any: the label column and the plotted columns.
    chart_label: str = ""
    chart_values: tuple[str, ...] = ()
    # Rows left out because the table was built for a page that shows at most so many (0: none).
    more: int = 0

    def column(self, key: str) -> int:
        return [c.key for c in self.columns].index(key)

    def records(self) -> list[dict[str, str | int | float | None]]:
        return [{c.key: cell.json() for c, cell in zip(self.columns, row, strict=True)} for row in self.rows]


class Protection:
    """Small-number protection for one viewer: ``exact`` viewers see every count as it is."""

    def __init__(self, *, exact: bool, threshold: int | None = None) -> None:
        self.exact = exact
        self.threshold = int(settings.LEGIONARY_SMALL_NUMBER_THRESHOLD if threshold is None else threshold)

    def hides(self, n: int) -> bool:
        return not self.exact and 0 < n < self.threshold

    def count(self, n: int) -> Cell:
        if self.hides(n):
            return Cell(f"< {self.threshold}", None, hidden=True)
        return Cell(str(n), n)

    def derived(self, value: float | None, basis: int, *, digits: int = 1) -> Cell:
        """A figure computed from ``basis`` people: hidden whenever that count would be."""
        if self.hides(basis):
            return Cell(f"< {self.threshold}", None, hidden=True) if value is not None else Cell("")
        if value is None:
            return Cell("")
        rounded = round(value, digits)
        return Cell(f"{rounded:.{digits}f}", rounded)


def source_note(as_of: datetime.datetime) -> str:
    """How old pre-counted figures are and how exact their times are (the page, the PDF, the command line)."""
    return str(
        _(
            "Figures as of %(as_of)s UTC, pre-counted by “legionary report refresh”; times in each stage "
            "are read to a tenth of a day (a median or 90th percentile may be up to 0.05 day off)."
        )
        % {"as_of": timezone.localtime(as_of, datetime.UTC).strftime("%Y-%m-%d %H:%M")}
    )


def text(value: Any) -> Cell:
    return Cell(str(value))


def legion_name(slug: str) -> str:
    return _legion_name(slug, get_language())


@functools.lru_cache(maxsize=256)
def _legion_name(slug: str, language: str | None) -> str:
    """A legion's name in ``language``, translated once: the dashboard names a legion on hundreds
    of rows, and each translation of a lazy string goes through the catalogue again."""
    if not slug:
        return str(_("All legions"))
    return str(KNOWN_LEGIONS.get(slug, slug))


def month_name(month: str) -> str:
    return month or str(_("All months"))


STAGE_LABELS: dict[str, Label] = {
    "received": PersonStatus.RECEIVED.label,
    "in_vetting": PersonStatus.IN_VETTING.label,
    "approved": PersonStatus.APPROVED.label,
    "denied": PersonStatus.DENIED.label,
    "in_training": PersonStatus.IN_TRAINING.label,
    "trained": PersonStatus.TRAINED.label,
    "assigned": PersonStatus.ASSIGNED.label,
}
GUIDELINE_NAMES = {g.letter: g.name for g in GUIDELINES}


def _sum_by(rows: Iterable[Any], key: Callable[[Any], Any], fields: Iterable[str]) -> dict[Any, dict[str, int]]:
    names = list(fields)
    out: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(names, 0))
    for row in rows:
        bucket = out[key(row)]
        for name in names:
            bucket[name] += int(getattr(row, name))
    return out


def _funnel_tables(d: Dashboard, p: Protection) -> list[Table]:
    stages = [Column(f"reached_{s}", STAGE_LABELS[s], numeric=True) for s in FUNNEL_STAGES]
    total_reached = dict.fromkeys(FUNNEL_STAGES, 0)
    total_now = dict.fromkeys(FUNNEL_STAGES, 0)
    by_month: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FUNNEL_STAGES, 0))
    by_legion: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FUNNEL_STAGES, 0))
    for row in d.funnel:
        for s in FUNNEL_STAGES:
            total_reached[s] += row.reached[s]
            total_now[s] += row.now[s]
            by_month[row.month][s] += row.reached[s]
            by_legion[row.legion][s] += row.reached[s]
    funnel = Table(
        id="funnel",
        title=_("Pipeline: people who reached each stage, and who are at it now"),
        columns=[
            Column("stage", _("Stage")),
            Column("reached", _("Reached"), numeric=True),
            Column("now", _("At this stage now"), numeric=True),
        ],
        chart_label="stage",
        chart_values=("reached", "now"),
    )
    for s in FUNNEL_STAGES:
        funnel.rows.append([text(STAGE_LABELS[s]), p.count(total_reached[s]), p.count(total_now[s])])
    monthly = Table(
        id="funnel_by_month",
        title=_("Applications by month received, and how far they got"),
        columns=[Column("month", _("Month")), *stages],
        chart_label="month",
        chart_values=("reached_received", "reached_approved", "reached_denied"),
    )
    for month in sorted(by_month):
        monthly.rows.append([text(month), *(p.count(by_month[month][s]) for s in FUNNEL_STAGES)])
    detail = Table(
        id="funnel_by_legion",
        title=_("Pipeline by legion and month received"),
        columns=[Column("legion", _("Legion")), Column("month", _("Month")), *stages],
    )
    for legion in sorted(by_legion):
        detail.rows.append(
            [text(legion_name(legion)), text(month_name("")), *(p.count(by_legion[legion][s]) for s in FUNNEL_STAGES)]
        )
        for row in d.funnel:
            if row.legion == legion:
                detail.rows.append(
                    [text(legion_name(legion)), text(row.month), *(p.count(row.reached[s]) for s in FUNNEL_STAGES)]
                )
    return [funnel, monthly, detail]


def _duration_tables(d: Dashboard, p: Protection) -> list[Table]:
    figures = [
        Column("people", pgettext_lazy("people in the pipeline", "People"), numeric=True),
        Column("median", _("Median (days)"), numeric=True),
        Column("p90", _("90th percentile (days)"), numeric=True),
    ]
    overall = Table(
        id="durations",
        title=_("Time spent in each stage, in days"),
        columns=[Column("stage", _("Stage")), *figures],
        chart_label="stage",
        chart_values=("median", "p90"),
    )
    detail = Table(
        id="durations_by_group",
        title=_("Time spent in each stage, by legion and by month received"),
        columns=[Column("stage", _("Stage")), Column("legion", _("Legion")), Column("month", _("Month")), *figures],
    )
    for row in d.durations:
        cells = [p.count(row.people), p.derived(row.median, row.people), p.derived(row.p90, row.people)]
        if not row.legion and not row.month:
            overall.rows.append([text(STAGE_LABELS[row.stage]), *cells])
        else:
            detail.rows.append(
                [text(STAGE_LABELS[row.stage]), text(legion_name(row.legion)), text(month_name(row.month)), *cells]
            )
    return [overall, detail]


def _overdue_tables(d: Dashboard, p: Protection) -> list[Table]:
    figures = [Column("open", _("Open"), numeric=True), Column("overdue", _("Overdue"), numeric=True)]
    names = {r.check_type: r.check_name for r in d.overdue}
    sums = _sum_by(d.overdue, lambda r: r.check_type, ("open", "overdue"))
    overall = Table(
        id="overdue",
        title=_("Open and overdue checks on undecided cases"),
        columns=[Column("check", pgettext_lazy("a vetting check", "Check")), *figures],
        chart_label="check",
        chart_values=("overdue",),
    )
    for slug in sorted(sums):
        overall.rows.append([text(names[slug]), p.count(sums[slug]["open"]), p.count(sums[slug]["overdue"])])
    detail = Table(
        id="overdue_by_legion",
        title=_("Open and overdue checks by legion"),
        columns=[Column("legion", _("Legion")), Column("check", pgettext_lazy("a vetting check", "Check")), *figures],
    )
    for r in d.overdue:
        detail.rows.append([text(legion_name(r.legion)), text(r.check_name), p.count(r.open), p.count(r.overdue)])
    return [overall, detail]


def _flag_tables(d: Dashboard, p: Protection) -> list[Table]:
    figures = [
        Column("flagged", _("Flagged cases"), numeric=True),
        Column("unresolved", _("Unresolved"), numeric=True),
        Column("after_denial", _("Re-applications after a denial"), numeric=True),
    ]
    sums = _sum_by(d.flags, lambda r: r.legion, ("flagged", "unresolved", "after_denial"))
    overall = Table(
        id="flags",
        title=_("Possible duplicates and re-applications found by screening"),
        columns=[Column("legion", _("Legion")), *figures],
        chart_label="legion",
        chart_values=("flagged", "after_denial"),
    )
    for legion in sorted(sums):
        overall.rows.append([text(legion_name(legion)), *(p.count(sums[legion][f.key]) for f in figures)])
    detail = Table(
        id="flags_by_month",
        title=_("Screening flags by legion and month received"),
        columns=[Column("legion", _("Legion")), Column("month", _("Month")), *figures],
    )
    for r in d.flags:
        detail.rows.append(
            [
                text(legion_name(r.legion)),
                text(r.month),
                p.count(r.flagged),
                p.count(r.unresolved),
                p.count(r.after_denial),
            ]
        )
    return [overall, detail]


def _denial_tables(d: Dashboard, p: Protection) -> list[Table]:
    sums = _sum_by(d.denials, lambda r: r.guideline, ("cases",))
    overall = Table(
        id="denials",
        title=_("Denied cases by SEAD 4 guideline of their findings"),
        columns=[Column("guideline", _("Guideline")), Column("cases", _("Denied cases"), numeric=True)],
        chart_label="guideline",
        chart_values=("cases",),
    )
    for letter in sorted(sums):
        label = f"{letter} · {GUIDELINE_NAMES.get(letter, letter)}"
        overall.rows.append([text(label), p.count(sums[letter]["cases"])])
    detail = Table(
        id="denials_by_legion",
        title=_("Denied cases by guideline and legion"),
        columns=[
            Column("guideline", _("Guideline")),
            Column("legion", _("Legion")),
            Column("cases", _("Denied cases"), numeric=True),
        ],
    )
    for r in d.denials:
        label = f"{r.guideline} · {GUIDELINE_NAMES.get(r.guideline, r.guideline)}"
        detail.rows.append([text(label), text(legion_name(r.legion)), p.count(r.cases)])
    return [overall, detail]


def _cohort_table(d: Dashboard, p: Protection, limit: int | None) -> Table:
    table = Table(
        id="cohorts",
        title=_("Cohort progress"),
        columns=[
            Column("cohort", _("Cohort")),
            Column("legion", _("Legion")),
            Column("course", _("Course")),
            Column("start_date", _("Start date")),
            Column("week", _("Week"), numeric=True),
            Column("weeks", _("Weeks"), numeric=True),
            Column("enrolled", _("Enrolled"), numeric=True),
            Column("in_training", _("In training"), numeric=True),
            Column("completed", _("Completed"), numeric=True),
        ],
        chart_label="cohort",
        chart_values=("in_training", "completed"),
    )
    cohorts = d.cohorts if limit is None else d.cohorts[:limit]
    table.more = len(d.cohorts) - len(cohorts)
    for r in cohorts:
        table.rows.append(
            [
                text(r.name),
                text(legion_name(r.legion)),
                text(r.course),
                text(r.start_date.isoformat()),
                Cell(str(r.week_now), r.week_now),
                Cell(str(r.weeks), r.weeks),
                p.count(r.enrolled),
                p.count(r.in_training),
                p.count(r.completed),
            ]
        )
    return table


def _strength_table(d: Dashboard, p: Protection, limit: int | None) -> Table:
    table = Table(
        id="strength",
        title=_("Unit strength against billets"),
        columns=[
            Column("unit", _("Unit")),
            Column("kind", _("Kind")),
            Column("legion", _("Legion")),
            Column("billets", _("Billets"), numeric=True),
            Column("filled", _("Filled"), numeric=True),
            Column("percent", _("Strength (%)"), numeric=True),
        ],
        chart_label="unit",
        chart_values=("billets", "filled"),
    )
    strength = d.strength if limit is None else d.strength[:limit]
    table.more = len(d.strength) - len(strength)
    for r in strength:
        percent = 100.0 * r.filled / r.billets if r.billets else None
        name = ("— " if r.depth else "") + r.name
        table.rows.append(
            [
                text(name),
                text(UnitKind(r.kind).label if r.kind in UnitKind.values else r.kind),
                text(legion_name(r.legion) if r.legion else ""),
                Cell(str(r.billets), r.billets),
                p.count(r.filled),
                p.derived(percent, r.filled, digits=0),
            ]
        )
    return table


# The dashboard's sections, in page order: (stable id, heading, tables).
SECTION_TITLES: dict[str, Label] = {
    "funnel": _("Pipeline"),
    "durations": _("Time in each stage"),
    "overdue": _("Overdue checks"),
    "flags": _("Duplicates and re-applications"),
    "denials": _("Denial reasons"),
    "cohorts": _("Cohort progress"),
    "strength": _("Unit strength"),
}


@dataclass
class Section:
    id: str
    title: Label
    tables: list[Table]


def dashboard_sections(d: Dashboard, protection: Protection, *, limit: int | None = None) -> list[Section]:
    """Every table of the dashboard, grouped in sections, with small numbers already hidden.

    With ``limit``, the tables that grow with the instance (cohorts, units) are built with their
    first ``limit`` rows only and count the rest in ``Table.more``, for a page; exports take all.
    """
    return [
        Section("funnel", SECTION_TITLES["funnel"], _funnel_tables(d, protection)),
        Section("durations", SECTION_TITLES["durations"], _duration_tables(d, protection)),
        Section("overdue", SECTION_TITLES["overdue"], _overdue_tables(d, protection)),
        Section("flags", SECTION_TITLES["flags"], _flag_tables(d, protection)),
        Section("denials", SECTION_TITLES["denials"], _denial_tables(d, protection)),
        Section("cohorts", SECTION_TITLES["cohorts"], [_cohort_table(d, protection, limit)]),
        Section("strength", SECTION_TITLES["strength"], [_strength_table(d, protection, limit)]),
    ]


def dashboard_tables(d: Dashboard, protection: Protection) -> dict[str, Table]:
    return {t.id: t for s in dashboard_sections(d, protection) for t in s.tables}
