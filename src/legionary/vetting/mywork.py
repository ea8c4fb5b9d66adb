"""The vetting side's sections of "My work" (``access.mywork``), from the selectors in ``vetting.work``.

Each provider hands the shared page plain items (call sign, what to do, since, due, overdue) and a
capped count for the navigation badge; the selectors apply the need-to-know scope themselves.
"""

from __future__ import annotations

from collections.abc import Callable

from legionary.access import mywork
from legionary.access.roles import Perm
from legionary.vetting import work
from legionary.vetting.models import CaseState


def _tag(item: work.WorkItem) -> tuple[str, str]:
    """(state, label) of the row's tag: overdue, flagged or awaiting a decision; none otherwise."""
    if item.overdue:
        return "overdue", str(work.OVERDUE)
    if item.note == "flagged":
        return "flagged", str(work.FLAGGED)
    if item.note == "list-match":
        return "flagged", str(work.LIST_MATCH)
    if item.note == "possible":
        return "possible", str(work.POSSIBLE_TO_REVIEW)
    if item.note == "list-possible":
        return "possible", str(work.LIST_POSSIBLE)
    if item.note in ("first", "second"):
        return "awaiting_decision", str(CaseState.AWAITING_DECISION.label)
    return "", ""


def _adapt(section: work.WorkSection | None) -> mywork.WorkSection | None:
    if section is None:
        return None
    items = [
        mywork.WorkItem(
            label=item.call_sign,
            url=item.url,
            detail=item.what,
            since=None if section.key == "my-checks" else item.when,  # type: ignore[arg-type]
            due=item.when if section.key == "my-checks" else None,
            overdue=item.overdue,
            state=_tag(item)[0],
            state_label=_tag(item)[1],
        )
        for item in section.items
    ]
    return mywork.WorkSection(
        key=section.key,
        title=str(section.title),
        items=mywork.oldest_first(items)[: mywork.LIMIT],
        count=section.count,
        queue_url=section.more_url,
        queue_text=str(work.SEE_ALL),
        empty_text=str(section.empty),
    )


def _register(selector: Callable[..., work.WorkSection | None], key: str, perm: Perm, nav: str, order: int) -> None:
    def provide(who: mywork.Who) -> mywork.WorkSection | None:
        return _adapt(selector(who.staff, who.perms))

    entry = mywork.provider(key=key, perm=perm, nav=nav, order=order)(provide)

    @entry.counter
    def count(who: mywork.Who) -> int:
        section = selector(who.staff, who.perms, count_only=True)
        return 0 if section is None else section.count


_register(work.new_applications, "new-applications", Perm.VIEW_INTAKE_QUEUE, "intake", 10)
_register(work.flagged_cases, "flags", Perm.VIEW_CASES, "cases", 11)
_register(work.possible_duplicates, "possible-duplicates", Perm.RESOLVE_SCREENING, "cases", 11)
_register(work.screening_hits, "screening-hits", Perm.RECORD_CHECK, "cases", 12)
_register(work.list_hits, "list-hits", Perm.RECORD_CHECK, "cases", 12)
_register(work.my_checks, "my-checks", Perm.RECORD_CHECK, "cases", 13)
_register(work.to_decide, "to-decide", Perm.ADJUDICATE, "adjudication", 14)
_register(work.escalated, "escalated", Perm.ADJUDICATE_SENIOR, "adjudication", 15)
