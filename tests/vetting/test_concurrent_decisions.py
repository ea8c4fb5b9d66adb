"""Two second votes at the same moment never give a case two outcomes.

Threads with their own database connections: on SQLite they queue on the write lock, on
PostgreSQL they are real concurrent transactions. ``transaction=True`` so that each thread sees
what the others commit.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from django.db import connection

from legionary.vetting import services
from legionary.vetting.models import Case, CaseState, Decision, Outcome
from tests.vetting.conftest import RATIONALE, Cast, Submit, finish_checks, start


def _race(case: Case, voters: Sequence[tuple[object, str]], expected_version: int | None) -> list[object]:
    barrier = threading.Barrier(len(voters))
    results: list[object] = [None] * len(voters)

    def vote(position: int, who: object, outcome: str) -> None:
        try:
            barrier.wait()
            results[position] = services.case_decide(
                case_id=case.pk, actor=who, outcome=outcome, rationale=RATIONALE, expected_version=expected_version
            )
        except Exception as exc:  # noqa: BLE001 — the test inspects what each request got
            results[position] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=vote, args=(n, who, outcome)) for n, (who, outcome) in enumerate(voters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _ready_with_first_vote(submit: Submit, cast: Cast) -> Case:
    case = finish_checks(start(submit(), cast), cast)
    services.finding_record(
        case_id=case.pk,
        actor=cast.ci,
        guideline="E",
        severity="moderate",
        disqualifying_condition="AG 16(a): omissions on the application",
        source_check_id=case.checks.get(check_type_id="background").pk,
    )
    services.case_decide(case_id=case.pk, actor=cast.adjudicators[0], outcome=Outcome.APPROVE, rationale=RATIONALE)
    case.refresh_from_db()
    return case


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("send_version", [True, False], ids=["with-version", "without-version"])
def test_two_simultaneous_second_votes_give_one_outcome(submit: Submit, vetting_cast: Cast, send_version: bool) -> None:
    case = _ready_with_first_vote(submit, vetting_cast)
    voters = [(vetting_cast.adjudicators[1], Outcome.DENY), (vetting_cast.adjudicators[2], Outcome.APPROVE)]
    results = _race(case, voters, case.version if send_version else None)
    won = [r for r in results if isinstance(r, Decision)]
    lost = [r for r in results if isinstance(r, services.VettingError)]
    assert len(won) == 1 and len(lost) == 1, results
    case.refresh_from_db()
    assert Decision.objects.filter(case=case, round=1).count() == 2
    expected = CaseState.ESCALATED if won[0].outcome == Outcome.DENY else CaseState.APPROVED
    assert case.state == expected


@pytest.mark.django_db(transaction=True)
def test_one_adjudicator_submitting_twice_at_once_is_counted_once(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready_with_first_vote(submit, vetting_cast)
    second = vetting_cast.adjudicators[1]
    results = _race(case, [(second, Outcome.APPROVE), (second, Outcome.APPROVE)], None)
    assert sum(isinstance(r, Decision) for r in results) == 1, results
    assert Decision.objects.filter(case=case, adjudicator=second).count() == 1
