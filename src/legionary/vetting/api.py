"""The vetting API (django-ninja): cases, checks and decisions, for signed-in staff.

Responsible for turning JSON into calls of ``vetting.services`` and answers into schemas; nothing
else. Every endpoint carries an access mark (``staff_required``), every operation on one path
the same one, so ``GuardedNinjaAPI`` can copy it onto the URL. State-changing calls check the
CSRF token (the session cookie authenticates them). Must never return an identity or a sealed
note: people appear as call sign and pseudonymous id.

Mount it on the project's API with ``api.add_router("/vetting/", vetting_router())``; each call of
``vetting_router`` builds a fresh router, since a ninja router can belong to one API only.
"""

# No ``from __future__ import annotations``: ninja reads the endpoints' annotations through the
# access wrapper, whose module globals do not hold these schemas.

import datetime
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from ninja.utils import check_csrf
from pydantic import Field

from legionary.access.policy import staff_required
from legionary.access.roles import Perm
from legionary.access.scopes import cases_visible_to, checks_visible_to
from legionary.api.problems import Problem, problem
from legionary.identity.services import IdentityError
from legionary.vetting import selectors, services
from legionary.vetting.models import Case, Check, Decision


class CaseOut(Schema):
    id: int
    person_id: str
    call_sign: str
    legion: str
    state: str
    flagged: bool
    version: int
    decision_round: int


class CasesOut(Schema):
    cases: list[CaseOut]
    next: str | None = Field(description="Pass as ``after`` for the next page; null on the last page.")


class CheckOut(Schema):
    id: int
    case_id: int
    type: str
    assigned_to: str | None
    due_on: datetime.date
    result: str
    polygraph_outcome: str
    screening_entry: str | None


class CheckResultIn(Schema):
    result: str
    note: str = Field(default="", max_length=20000)
    version: int | None = None
    examined_on: datetime.date | None = None
    question_areas: list[str] = []
    polygraph_outcome: str = ""


class DecisionOut(Schema):
    id: int
    round: int
    seat: int
    adjudicator: str
    outcome: str
    rationale: str
    factors: dict[str, str]


class DecisionIn(Schema):
    outcome: str
    rationale: str = Field(max_length=20000)
    factors: dict[str, str] = {}
    version: int | None = None


def _case_out(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "person_id": case.person_id,
        "call_sign": case.person.call_sign,
        "legion": case.legion,
        "state": case.state,
        "flagged": case.flagged,
        "version": case.version,
        "decision_round": case.decision_round,
    }


def _check_out(check: Check) -> dict[str, Any]:
    return {
        "id": check.pk,
        "case_id": check.case_id,
        "type": check.check_type_id,
        "assigned_to": check.assigned_to.get_username() if check.assigned_to else None,
        "due_on": check.due_on,
        "result": check.result,
        "polygraph_outcome": check.polygraph_outcome,
        "screening_entry": check.screening_entry.entry_id if check.screening_entry else None,
    }


def _decision_out(decision: Decision) -> dict[str, Any]:
    return {
        "id": decision.pk,
        "round": decision.round,
        "seat": decision.seat,
        "adjudicator": decision.adjudicator.get_username(),
        "outcome": decision.outcome,
        "rationale": decision.rationale,
        "factors": decision.factors,
    }


_NOT_FOUND = (404, "not-found", "Not found", "There is no such case or check.")


def _refused(call: Callable[[], Any]) -> Any:
    """Runs a service call, turning its refusals into problem answers (one place for all endpoints)."""
    try:
        return call()
    except selectors.NotInScope:
        return problem(*_NOT_FOUND)
    except services.NotAllowed as exc:
        return problem(403, "not-allowed", "Not allowed", str(exc))
    except services.StaleCase as exc:
        return problem(409, "stale-case", "Case changed", str(exc))
    except (services.VettingError, IdentityError) as exc:
        return problem(422, "refused", "Refused", str(exc))


def _visible_check(request: HttpRequest, check_id: int) -> Check | None:
    return checks_visible_to(request.user).filter(pk=check_id).select_related("assigned_to", "screening_entry").first()


def _case_in_scope(staff: Any, case_id: str) -> bool:
    return cases_visible_to(staff).filter(pk=int(case_id)).exists()


def _check_in_scope(staff: Any, check_id: str) -> bool:
    return checks_visible_to(staff).filter(pk=int(check_id)).exists()


@staff_required(Perm.VIEW_CASES)
def cases_list(request: HttpRequest, after: str = "") -> Any:
    page = selectors.cases_page(staff=request.user, after=after or None)
    return {"cases": [_case_out(c) for c in page.rows], "next": page.next}


@staff_required(Perm.VIEW_CASES)
def case_detail(request: HttpRequest, case_id: int) -> Any:
    try:
        case = selectors.case_get(staff=request.user, case_id=case_id)
    except selectors.NotInScope:
        return problem(*_NOT_FOUND)
    return {**_case_out(case), "checks": [_check_out(c) for c in selectors.case_checks(case)]}


@staff_required(Perm.RECORD_CHECK)
def check_detail(request: HttpRequest, check_id: int) -> Any:
    check = _visible_check(request, check_id)
    return problem(*_NOT_FOUND) if check is None else _check_out(check)


@staff_required(Perm.RECORD_CHECK, scope=_check_in_scope)
def check_result(request: HttpRequest, check_id: int, payload: CheckResultIn) -> Any:
    refused = check_csrf(request)
    if refused is not None:
        return refused
    polygraph = None
    if payload.polygraph_outcome:
        if payload.examined_on is None:
            return problem(422, "refused", "Refused", "Give the examination date.")
        polygraph = services.PolygraphRecord(
            examined_on=payload.examined_on, question_areas=payload.question_areas, outcome=payload.polygraph_outcome
        )
    result = _refused(
        lambda: services.check_record(
            check_id=check_id,
            actor=request.user,
            result=payload.result,
            note=payload.note,
            polygraph=polygraph,
            expected_version=payload.version,
        )
    )
    return result if isinstance(result, HttpResponse) else _check_out(result)


@staff_required(Perm.ADJUDICATE)
def decisions_list(request: HttpRequest, case_id: int) -> Any:
    try:
        case = selectors.case_get(staff=request.user, case_id=case_id)
    except selectors.NotInScope:
        return problem(*_NOT_FOUND)
    return [_decision_out(d) for d in selectors.case_decisions(case)]


@staff_required(Perm.ADJUDICATE, scope=_case_in_scope)
def decision_create(request: HttpRequest, case_id: int, payload: DecisionIn) -> Any:
    refused = check_csrf(request)
    if refused is not None:
        return refused
    result = _refused(
        lambda: services.case_decide(
            case_id=case_id,
            actor=request.user,
            outcome=payload.outcome,
            rationale=payload.rationale,
            factors=payload.factors,
            expected_version=payload.version,
        )
    )
    return result if isinstance(result, HttpResponse) else Status(201, _decision_out(result))


_ERRORS: dict[int, Any] = {403: Problem, 404: Problem, 409: Problem, 422: Problem}


def vetting_router() -> Router:
    """A new router with every vetting endpoint (one per API it is mounted on)."""
    router = Router(tags=["vetting"])
    router.get(
        "/cases", response=CasesOut, url_name="vetting-cases", summary="Cases the caller may see, newest first (pages)"
    )(cases_list)
    router.get(
        "/cases/{case_id}",
        url_name="vetting-case",
        summary="One case with its checks",
        response={200: dict[str, Any], **_ERRORS},
    )(case_detail)
    router.get(
        "/checks/{check_id}", response={200: CheckOut, **_ERRORS}, url_name="vetting-check", summary="One check"
    )(check_detail)
    router.post(
        "/checks/{check_id}",
        response={200: CheckOut, **_ERRORS},
        url_name="vetting-check-result",
        summary="Record a check's result (the assigned staff member only)",
    )(check_result)
    router.get(
        "/cases/{case_id}/decisions",
        response={200: list[DecisionOut], **_ERRORS},
        url_name="vetting-decisions",
        summary="Decisions on a case",
    )(decisions_list)
    router.post(
        "/cases/{case_id}/decisions",
        response={201: DecisionOut, **_ERRORS},
        url_name="vetting-decide",
        summary="Record an adjudicator's decision (two-person rule)",
    )(decision_create)
    return router
