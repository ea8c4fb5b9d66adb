"""What waits for an instructor on "My work": people to enrol in the cohorts he leads (approved,
not yet in training), results to enter in his cohorts' modules that are due (overdue first), and
results waiting for his sign-off (as the instructor who entered them, and as a cohort's lead for
the final one).

Selectors of a fixed number of queries whatever the number of people or results: the cohorts
(at most ``COHORTS``, those with trainees still in training, oldest first), then one grouped query
per figure over all of them. Scope is ``selectors.cohorts_visible_to(staff, perm=Perm.GRADE)``.
Must never: read a sealed identity, or write.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from legionary.access import mywork
from legionary.access.memo import remembered
from legionary.access.roles import Perm
from legionary.training import selectors
from legionary.training.models import Assessment, Cohort, Enrolment, EnrolmentState, Module, Result, TimetableEntry
from legionary.training.names import shown

COHORTS = 20
COUNT_CAP = 100


def _cohorts(staff: Any) -> list[Cohort]:
    """His cohorts with trainees in training (one query; read once for both sections on My work)."""

    def read() -> list[Cohort]:
        active = Enrolment.objects.filter(cohort=OuterRef("pk"), state=EnrolmentState.ACTIVE)
        return list(
            selectors.cohorts_visible_to(staff, perm=Perm.GRADE)
            .filter(Exists(active))
            .only("id", "name", "start_date", "lead_id", "course_id")
            .order_by("start_date", "id")[:COHORTS]
        )

    return remembered(("training-mywork-cohorts", staff.pk), read)


def _module_url(cohort_id: int, module_id: int) -> str:
    return reverse("training:module-results", args=[cohort_id, module_id])


@mywork.provider(key="training-results-to-enter", perm=Perm.GRADE, nav="training", order=50)
def results_to_enter(who: mywork.Who, *, today: date | None = None) -> mywork.WorkSection:
    """Per cohort and module whose timetabled week has begun: how many results of trainees still in
    training are not yet passed (never entered, or failed and not retaken); due at the week's end."""
    today = today or timezone.localdate()
    cohorts = _cohorts(who.staff)
    by_id = {c.pk: c for c in cohorts}
    weeks = list(TimetableEntry.objects.filter(cohort__in=cohorts).values_list("cohort_id", "module_id", "week"))
    modules = {m.pk: m.name for m in Module.objects.filter(pk__in={m for _c, m, _w in weeks}).only("id", "name")}
    per_module = dict(
        Assessment.objects.filter(module_id__in=modules)
        .values("module_id")
        .annotate(n=Count("id"))
        .values_list("module_id", "n")
    )
    trainees = dict(
        Enrolment.objects.filter(cohort__in=cohorts, state=EnrolmentState.ACTIVE)
        .values("cohort_id")
        .annotate(n=Count("id"))
        .values_list("cohort_id", "n")
    )
    passed: dict[tuple[int, int], int] = defaultdict(int)
    for cohort_id, module_id, n in (
        Result.objects.filter(
            enrolment__cohort__in=cohorts, enrolment__state=EnrolmentState.ACTIVE, is_current=True, passed=True
        )
        .values("enrolment__cohort_id", "assessment__module_id")
        .annotate(n=Count("id"))
        .values_list("enrolment__cohort_id", "assessment__module_id", "n")
    ):
        passed[(cohort_id, module_id)] = n
    items: list[mywork.WorkItem] = []
    total = 0
    for cohort_id, module_id, week in weeks:
        cohort = by_id[cohort_id]
        begins = cohort.start_date + timedelta(weeks=week - 1)
        if begins > today:
            continue
        missing = trainees.get(cohort_id, 0) * per_module.get(module_id, 0) - passed[(cohort_id, module_id)]
        if missing <= 0:
            continue
        due = begins + timedelta(days=6)
        total += missing
        items.append(
            mywork.WorkItem(
                label=_("%(cohort)s, %(module)s") % {"cohort": cohort.name, "module": shown(modules[module_id])},
                url=_module_url(cohort_id, module_id),
                state="overdue" if due < today else "open",
                state_label=ngettext("%(n)d result to enter", "%(n)d results to enter", missing) % {"n": missing},
                due=due,
                overdue=due < today,
            )
        )
    return mywork.WorkSection(
        key="training-results-to-enter",
        title=_("Results to enter"),
        items=mywork.oldest_first(items)[: mywork.LIMIT],
        count=total,
        queue_url=reverse("training:cohorts"),
        queue_text=_("All your cohorts"),
        empty_text=_("No result is due in your cohorts."),
    )


@mywork.provider(key="training-results-to-sign", perm=Perm.GRADE, nav="training", order=51)
def results_to_sign(who: mywork.Who) -> mywork.WorkSection:
    """Results waiting for ``staff``'s sign-off: those he entered (first sign-off), and, in the cohorts
    he leads, those signed by their instructor (final sign-off). Two grouped queries."""
    staff = who.staff
    cohorts = _cohorts(staff)
    by_id = {c.pk: c for c in cohorts}
    led = [c.pk for c in cohorts if c.lead_id == staff.pk]
    waiting = Result.objects.filter(enrolment__cohort__in=cohorts, is_current=True, lead_signed_at__isnull=True)
    mine = Q(entered_by=staff, instructor_signed_at__isnull=True)
    as_lead = Q(enrolment__cohort_id__in=led, instructor_signed_at__isnull=False)
    rows = (
        waiting.filter(mine | as_lead)
        .values("enrolment__cohort_id", "assessment__module_id", "assessment__module__name")
        .annotate(first=Count("id", filter=mine), final=Count("id", filter=as_lead))
        .order_by("enrolment__cohort_id", "assessment__module_id")
    )
    items: list[mywork.WorkItem] = []
    total = 0
    for row in rows:
        cohort = by_id[row["enrolment__cohort_id"]]
        label = _("%(cohort)s, %(module)s") % {"cohort": cohort.name, "module": shown(row["assessment__module__name"])}
        url = _module_url(cohort.pk, row["assessment__module_id"])
        if row["first"]:
            total += row["first"]
            text = ngettext(
                "%(n)d result you entered to sign off", "%(n)d results you entered to sign off", row["first"]
            )
            items.append(mywork.WorkItem(label=label, url=url, state="entered", state_label=text % {"n": row["first"]}))
        if row["final"]:
            total += row["final"]
            text = ngettext(
                "%(n)d result for your final sign-off as lead",
                "%(n)d results for your final sign-off as lead",
                row["final"],
            )
            items.append(
                mywork.WorkItem(label=label, url=url, state="signed_off", state_label=text % {"n": row["final"]})
            )
    return mywork.WorkSection(
        key="training-results-to-sign",
        title=_("Results to sign off"),
        items=items[: mywork.LIMIT],
        count=total,
        empty_text=_("Nothing waits for your sign-off."),
    )


def _enrol_targets(staff: Any) -> dict[str, Cohort]:
    """Legion → the cohort a person of it is enrolled into from "My work": the newest one ``staff``
    may enrol into (one query)."""
    targets: dict[str, Cohort] = {}
    for cohort in (
        selectors.cohorts_enrollable_by(staff).only("id", "name", "legion", "start_date").order_by("-start_date", "-id")
    )[: COHORTS * 5]:
        targets.setdefault(cohort.legion, cohort)
    return targets


@mywork.provider(key="training-people-to-enrol", perm=Perm.VIEW_TRAINING, nav="training", order=49)
def people_to_enrol(who: mywork.Who) -> mywork.WorkSection | None:
    """Approved people of the legions of the cohorts he may enrol into (as their lead, or managing
    training), longest waiting first; each opens the cohort's page at its list of people to enrol.
    Three queries; nothing for someone who enrols into no cohort."""
    targets = _enrol_targets(who.staff)
    if not targets:
        return None
    people = selectors.people_to_enrol(legions=list(targets))
    items = [
        mywork.WorkItem(
            label=p.call_sign,
            url=reverse("training:cohort", args=[targets[p.legion].pk]) + f"#to-enrol-{p.pk}",
            state="approved",
            state_label=_("approved, not yet in training"),
            detail=_("to enrol in %(cohort)s") % {"cohort": targets[p.legion].name},
            since=p.created_at,
        )
        for p in people.only("id", "call_sign", "legion", "created_at")[: mywork.LIMIT]
    ]
    return mywork.WorkSection(
        key="training-people-to-enrol",
        title=_("People to enrol"),
        items=items,
        count=_capped(people),
        empty_text=_("Nobody approved is waiting for training."),
    )


@people_to_enrol.counter
def count_people_to_enrol(who: mywork.Who) -> int:
    targets = _enrol_targets(who.staff)
    return _capped(selectors.people_to_enrol(legions=list(targets))) if targets else 0


def _capped(people: Any) -> int:
    """How many, up to ``COUNT_CAP + 1`` (a count never costs more at a million people)."""
    return int(people.order_by()[: COUNT_CAP + 1].count())
