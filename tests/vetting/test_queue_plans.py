"""The work queue costs the same at any number of cases: each section is one index range read up to
its page, never a walk over the cases (or a sort of them) that grows with the instance.

The plans are the database's own (``EXPLAIN`` of the statements the queue really sends, with their
parameters), on SQLite and PostgreSQL; on PostgreSQL sequential scans and sorts are switched off,
since on a test's few rows they are the cheapest plan whatever the indexes: the plan left is the
index-ordered one, if the query allows one.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.db import connection

from legionary.access.roles import Perm
from legionary.vetting import selectors
from legionary.vetting.models import Case, CaseState
from tests.plans import Statement, plan_of, statements_of
from tests.vetting.conftest import NOW, Cast, Submit, start


def _assert_read_in_order_from(index: str, plan: str) -> None:
    """The plan reads ``index`` and sorts nothing (PostgreSQL; SQLite's temporary B-tree is its sort)."""
    assert index in plan, plan
    if connection.vendor == "sqlite":
        assert "TEMP B-TREE" not in plan, plan
    else:
        assert not re.search(r"(^|->\s+)Sort\b", plan, re.MULTILINE), plan


def _queue_of(staff: Any) -> list[Statement]:
    return statements_of(lambda: selectors.work_queue(staff=staff, perms=frozenset(Perm)))


def test_the_flagged_section_reads_the_open_flagged_cases_index_not_every_case_by_date(
    submit: Submit, vetting_cast: Cast
) -> None:
    flagged = start(submit(), vetting_cast)
    start(submit(), vetting_cast)  # the same applicant again: flagged
    assert Case.objects.filter(flagged=True).exists() and flagged.pk
    statements = [s for s in _queue_of(vetting_cast.ci) if '"flagged" AND NOT' in s[0]]
    assert len(statements) == 1, "the flagged section is one query"
    plan = plan_of(statements[0])
    # The partial index holds only flagged cases not yet decided; without it the database walks
    # every case in date order (the decided ones too), which grows with the instance.
    assert "case_flagged_open" in plan, plan


def test_each_state_of_the_decision_section_is_a_range_of_its_index_without_a_sort(
    submit: Submit, vetting_cast: Cast
) -> None:
    submit()
    statements = [s for s in _queue_of(vetting_cast.adjudicators[0]) if '"vetting_case"."updated_at" ASC' in s[0]]
    decide = [s for s in statements if "vetting_decision" in s[0]]
    assert len(decide) == 2, "one query per state waiting for a decision"
    for statement in decide:
        plan = plan_of(statement)
        assert "case_state_updated" in plan, plan
        # No sort of the state's cases (an incremental sort of equal times by id is fine): with
        # ``state IN (two states)`` the database must read both ranges whole and sort them.
        if connection.vendor == "sqlite":
            assert "TEMP B-TREE" not in plan, plan
        else:
            assert not re.search(r"(^|->\s+)Sort\b", plan, re.MULTILINE), plan


def test_the_decision_section_pages_through_awaiting_and_appealed_cases_together_oldest_change_first(
    submit: Submit, vetting_cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = [submit() for _ in range(5)]
    # Interleaved: the two states' cases alternate in the order of their last change.
    for minutes, (case, state) in enumerate(
        zip(
            reversed(cases),
            [CaseState.APPEALED, CaseState.AWAITING_DECISION] * 3,
            strict=False,
        )
    ):
        Case.objects.filter(pk=case.pk).update(state=state, updated_at=NOW + datetime.timedelta(minutes=minutes))
    monkeypatch.setattr(selectors, "QUEUE_PAGE", 2)
    adjudicator = vetting_cast.adjudicators[0]
    seen: list[int] = []
    pages, cursor = 0, None
    while True:
        queue = selectors.work_queue(
            staff=adjudicator, perms=frozenset(Perm), after={"decide": cursor} if cursor else None
        )
        seen.extend(case.pk for case in queue.to_decide)
        pages += 1
        cursor = queue.next.get("decide")
        if cursor is None:
            break
    assert seen == list(Case.objects.order_by("updated_at", "id").values_list("pk", flat=True))
    assert pages == 3


def test_assigned_to_me_reads_his_open_checks_and_his_cases_in_the_lists_order_from_their_indexes(
    submit: Submit, vetting_cast: Cast
) -> None:
    """A page of "assigned to me" is two index ranges read in the list's order up to the page (his
    cases as officer; his open checks by their cases' date), never a walk over every case nor a sort
    of all his checks: the cost follows the page, not his workload."""
    from legionary.vetting import services

    for _ in range(3):
        services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    filters = selectors.CaseFilter(assignee=vetting_cast.investigator.pk)
    statements = statements_of(lambda: selectors.cases_filtered(staff=vetting_cast.investigator, filters=filters))
    checks = [s for s in statements if s[0].startswith('SELECT DISTINCT "vetting_check"."case_created_at"')]
    officer = [s for s in statements if '"vetting_case"."assigned_to_id" = ' in s[0] and "LIMIT" in s[0]]
    assert len(checks) == 1 and len(officer) >= 1, [s[0][:80] for s in statements]
    _assert_read_in_order_from("check_assignee_case", plan_of(checks[0]))
    plan = plan_of(officer[0])
    assert "case_officer_created" in plan, plan


def test_cases_with_an_overdue_check_are_read_from_the_open_checks_in_their_cases_order(
    submit: Submit, vetting_cast: Cast
) -> None:
    """ "With an overdue check" reads the open checks by their cases' date from their partial index
    (``check_open_case``) up to the page, never the cases oldest first probing each for a late check
    (4.6 s a page at a million people, where the oldest cases are long closed)."""
    from legionary.vetting import services
    from legionary.vetting.models import Check

    for _ in range(3):
        case = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
        Check.objects.filter(case=case).update(due_on=datetime.date(2020, 1, 1))
    filters = selectors.CaseFilter(overdue=True)
    statements = statements_of(lambda: selectors.cases_filtered(staff=vetting_cast.intake, filters=filters))
    checks = [s for s in statements if s[0].startswith('SELECT DISTINCT "vetting_check"."case_created_at"')]
    assert len(checks) == 1, [s[0][:80] for s in statements]
    _assert_read_in_order_from("check_open_case", plan_of(checks[0]))


def test_screening_hits_nobody_has_taken_are_read_from_their_partial_index_in_order(vetting_cast: Cast) -> None:
    """The CI officer's untaken screening hits are one range of ``check_screening_untaken`` in the
    section's order: PostgreSQL took the few such checks for most of the table (a misjudged
    correlation) and planned a parallel scan and a join that scanned the list entries once a row."""
    from legionary.vetting import work

    statements = statements_of(lambda: work.screening_hits(vetting_cast.ci, frozenset(Perm)))
    page = [s for s in statements if "ORDER BY" in s[0] and '"vetting_check"."opened_by"' in s[0]]
    assert len(page) == 1, [s[0][:80] for s in statements]
    plan = plan_of(page[0])
    if connection.vendor == "sqlite":
        # SQLite, without statistics, prefers two equalities of another index: still a range, never
        # the whole table (the embedded default serves instances far smaller than where this bit).
        assert "SCAN vetting_check" not in plan and "SEARCH vetting_check USING INDEX" in plan, plan
    else:
        assert "check_screening_untaken" in plan, plan
        assert not re.search(r"(^|->\s+)Sort\b", plan, re.MULTILINE), plan


def test_cases_waiting_for_an_adjudicator_are_read_in_order_from_their_partial_index(vetting_cast: Cast) -> None:
    """The adjudicator's "waiting for your decision" reads both states' cases in one order from
    ``case_to_decide``; by state first they were two ranges sorted whole (35,000 cases at 1M people)."""
    from legionary.vetting import work

    adjudicator = vetting_cast.adjudicators[0]
    statements = statements_of(lambda: work.to_decide(adjudicator, frozenset(Perm)))
    page = [s for s in statements if "ORDER BY" in s[0] and '"vetting_case"."updated_at"' in s[0]]
    assert len(page) == 1, [s[0][:80] for s in statements]
    plan = plan_of(page[0])
    if connection.vendor == "sqlite":
        # Without statistics SQLite may choose the state's index (two short ranges); never the table.
        assert "SCAN vetting_case " not in plan + " " and "SEARCH vetting_case USING" in plan, plan
    else:
        assert "case_to_decide" in plan, plan
        assert not re.search(r"(^|->\s+)Sort\b", plan, re.MULTILINE), plan
