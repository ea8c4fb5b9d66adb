"""Findings and the two-person decision: every refusal, escalation, deferral and appeal."""

from __future__ import annotations

import pytest

from legionary.identity.models import PersonStatus
from legionary.vetting import services
from legionary.vetting.models import Case, CaseState, CheckResult, Outcome, PolygraphOutcome
from tests.vetting.conftest import RATIONALE, Cast, Submit, finish_checks, start

pytestmark = pytest.mark.django_db


def _ready(submit: Submit, cast: Cast, results: dict[str, str] | None = None, polygraph: str = "") -> Case:
    return finish_checks(start(submit(), cast), cast, results=results, polygraph=polygraph)


def _vote(case: Case, who: object, outcome: str = Outcome.APPROVE) -> Case:
    services.case_decide(
        case_id=case.pk,
        actor=who,
        outcome=outcome,
        rationale=RATIONALE,
        factors={"nature": "Minor.", "recurrence": "Unlikely."},
    )
    case.refresh_from_db()
    return case


def _finding(case: Case, cast: Cast, check_type: str | None = None) -> None:
    source = case.checks.get(check_type_id=check_type).pk if check_type else None
    services.finding_record(
        case_id=case.pk,
        actor=cast.ci,
        guideline="J",
        severity="serious",
        disqualifying_condition="AG 31(a): a pattern of minor offences",
        mitigating_conditions="AG 32(a) considered: not recent",
        source_check_id=source,
    )


def test_one_vote_alone_changes_nothing(submit: Submit, vetting_cast: Cast) -> None:
    case = _vote(_ready(submit, vetting_cast), vetting_cast.adjudicators[0])
    assert case.state == CaseState.AWAITING_DECISION


def test_two_adjudicators_agreeing_approve_the_person(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    _vote(case, vetting_cast.adjudicators[0])
    case = _vote(case, vetting_cast.adjudicators[1])
    assert case.state == CaseState.APPROVED and case.decided_at is not None
    case.person.refresh_from_db()
    assert case.person.status == PersonStatus.APPROVED


def test_the_same_adjudicator_cannot_vote_twice(submit: Submit, vetting_cast: Cast) -> None:
    case = _vote(_ready(submit, vetting_cast), vetting_cast.adjudicators[0])
    with pytest.raises(services.NotAllowed, match="different adjudicator"):
        _vote(case, vetting_cast.adjudicators[0])


def test_an_adjudicator_who_did_a_check_cannot_adjudicate(submit: Submit, vetting_cast: Cast, make_staff) -> None:  # type: ignore[no-untyped-def]
    both = make_staff("two-hats", "investigator", "adjudicator")
    case = start(submit(), vetting_cast)
    check = case.checks.get(check_type_id="identity")
    services.check_assign(check_id=check.pk, assignee=both, actor=vetting_cast.intake)
    services.check_record(check_id=check.pk, actor=both, result=CheckResult.CLEAR)
    case = finish_checks(case, vetting_cast)
    with pytest.raises(services.NotAllowed, match="worked on this case"):
        _vote(case, both)


def test_a_role_without_adjudication_cannot_decide(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    with pytest.raises(services.NotAllowed):
        _vote(case, vetting_cast.intake)


def test_a_decision_needs_a_written_rationale(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    with pytest.raises(services.VettingError, match="rationale"):
        services.case_decide(
            case_id=case.pk, actor=vetting_cast.adjudicators[0], outcome=Outcome.APPROVE, rationale="   ok  "
        )


def test_unknown_whole_person_factors_are_refused(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    with pytest.raises(services.VettingError, match="whole-person"):
        services.case_decide(
            case_id=case.pk,
            actor=vetting_cast.adjudicators[0],
            outcome=Outcome.APPROVE,
            rationale=RATIONALE,
            factors={"astrology": "favourable"},
        )


def test_a_case_still_in_review_cannot_be_decided(submit: Submit, vetting_cast: Cast) -> None:
    case = start(submit(), vetting_cast)
    with pytest.raises(services.TransitionRefused):
        _vote(case, vetting_cast.adjudicators[0])


def test_a_decision_on_a_closed_case_is_refused(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    _vote(case, vetting_cast.adjudicators[0])
    _vote(case, vetting_cast.adjudicators[1])
    with pytest.raises(services.TransitionRefused, match="closed"):
        _vote(case, vetting_cast.adjudicators[2], Outcome.DENY)


def test_a_denial_resting_only_on_the_polygraph_is_refused(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast, results={"polygraph": CheckResult.CONCERN}, polygraph=PolygraphOutcome.DI)
    _finding(case, vetting_cast, check_type="polygraph")
    with pytest.raises(services.PolygraphOnlyDenial, match="polygraph alone"):
        _vote(case, vetting_cast.adjudicators[0], Outcome.DENY)


def test_a_denial_with_another_finding_besides_the_polygraph_is_accepted(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast, results={"polygraph": CheckResult.CONCERN}, polygraph=PolygraphOutcome.DI)
    _finding(case, vetting_cast, check_type="background")
    _vote(case, vetting_cast.adjudicators[0], Outcome.DENY)
    case = _vote(case, vetting_cast.adjudicators[1], Outcome.DENY)
    assert case.state == CaseState.DENIED
    case.person.refresh_from_db()
    assert case.person.status == PersonStatus.DENIED


def test_a_denial_with_no_basis_at_all_is_refused(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    with pytest.raises(services.VettingError, match="finding"):
        _vote(case, vetting_cast.adjudicators[0], Outcome.DENY)


def test_a_finding_needs_a_known_guideline_and_condition(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    with pytest.raises(services.VettingError, match="13"):
        services.finding_record(
            case_id=case.pk, actor=vetting_cast.ci, guideline="Z", severity="minor", disqualifying_condition="x"
        )
    with pytest.raises(services.VettingError, match="condition"):
        services.finding_record(
            case_id=case.pk, actor=vetting_cast.ci, guideline="A", severity="minor", disqualifying_condition="  "
        )


def test_a_disagreement_goes_to_a_senior_adjudicator(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    _finding(case, vetting_cast, check_type="background")
    _vote(case, vetting_cast.adjudicators[0], Outcome.APPROVE)
    case = _vote(case, vetting_cast.adjudicators[1], Outcome.DENY)
    assert case.state == CaseState.ESCALATED
    with pytest.raises(services.NotAllowed, match="senior"):
        _vote(case, vetting_cast.adjudicators[2])
    case = _vote(case, vetting_cast.senior, Outcome.DENY)
    assert case.state == CaseState.DENIED


def test_a_deferral_returns_the_case_for_more_checks_and_a_new_round(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    _vote(case, vetting_cast.adjudicators[0], Outcome.DEFER)
    case = _vote(case, vetting_cast.adjudicators[1], Outcome.DEFER)
    assert case.state == CaseState.DEFERRED and case.decision_round == 2
    services.check_add(case_id=case.pk, check_type="interview", actor=vetting_cast.intake)
    case = finish_checks(case, vetting_cast)
    _vote(case, vetting_cast.adjudicators[0])
    assert _vote(case, vetting_cast.adjudicators[1]).state == CaseState.APPROVED


def test_an_appeal_reopens_the_case_for_a_different_pair(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    _finding(case, vetting_cast, check_type="background")
    first, second, third, fourth = vetting_cast.adjudicators
    _vote(case, first, Outcome.DENY)
    _vote(case, second, Outcome.DENY)
    services.appeal_enter(case_id=case.pk, actor=vetting_cast.intake, grounds="The conviction was quashed in 2024.")
    case.refresh_from_db()
    assert case.state == CaseState.APPEALED and case.decided_at is None
    case.person.refresh_from_db()
    assert case.person.status == PersonStatus.IN_VETTING
    for earlier in (first, second):
        with pytest.raises(services.NotAllowed, match="before its appeal"):
            _vote(case, earlier)
    _vote(case, third)
    assert _vote(case, fourth).state == CaseState.APPROVED


def test_only_a_denied_case_can_be_appealed(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    with pytest.raises(services.TransitionRefused):
        services.appeal_enter(case_id=case.pk, actor=vetting_cast.intake, grounds="I disagree with everything.")


def test_an_appeal_needs_grounds_and_the_appeal_permission(submit: Submit, vetting_cast: Cast) -> None:
    case = _ready(submit, vetting_cast)
    with pytest.raises(services.VettingError, match="grounds"):
        services.appeal_enter(case_id=case.pk, actor=vetting_cast.intake, grounds="")
    with pytest.raises(services.NotAllowed):
        services.appeal_enter(case_id=case.pk, actor=vetting_cast.adjudicators[0], grounds="Some grounds here.")
