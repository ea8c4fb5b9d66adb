"""Training's API endpoints (a django-ninja ``Router``): courses, cohorts, enrolments and results.

Mounted by the project API (``api.add_router("/training", legionary.training.api.router)``).
Thin: reads go through ``training.selectors``, changes through ``training.services``, with the
same cohort scope as the pages; out of scope is 404, a refused action 422, both as RFC 7807
problems. Every endpoint carries one access mark (``staff_required``) so the project's access
middleware and route tests see it. The GET and POST of one path must share that mark (the project
API refuses a path whose operations differ), so writes are marked ``VIEW_TRAINING`` like the reads
of their path and the services check the grading scope (``Perm.GRADE`` on the cohort): an
administrator without it, or an instructor of another cohort, gets 404. Ninja exempts its views
from Django's CSRF middleware and these endpoints are used with the staff session, so every unsafe
one checks CSRF itself.

Must never: return or accept a name (people by call sign and pseudonymous id only).
"""

# No ``from __future__ import annotations``: ninja reads the endpoint signatures through the access
# decorator's wrapper, whose module globals cannot resolve string annotations such as "EnrolIn".
from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from ninja.utils import check_csrf
from pydantic import Field

from legionary.access.policy import request_staff, staff_required
from legionary.access.roles import Perm
from legionary.api.problems import Problem, problem
from legionary.training import selectors, services
from legionary.training.models import Course, Result
from legionary.training.selectors import NotInScope

router = Router(tags=["training"])


def _csrf_checked(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        refused = check_csrf(request)
        if refused is not None:
            return problem(403, "csrf", "CSRF check failed", "Send the CSRF token of your session (X-CSRFToken).")
        return view(request, *args, **kwargs)

    return checked


def _not_found() -> HttpResponse:
    return problem(404, "not-found", "Not found", "There is no such object in your cohorts.")


def _refused(exc: services.TrainingError) -> HttpResponse:
    return problem(422, "refused", "Refused", str(exc))


# --- schemas -------------------------------------------------------------------------------------


class AssessmentOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    max_score: int
    pass_mark: int


class ModuleOut(Schema):
    id: int
    code: str
    name: str
    default_week: int
    grants: list[str]
    requires: list[str]
    assessments: list[AssessmentOut]


class CourseOut(Schema):
    id: int
    code: str
    name: str
    weeks: int
    min_attendance_percent: int
    modules: list[ModuleOut]


class TimetableOut(Schema):
    module: str
    week: int | None


class CohortOut(Schema):
    id: int
    name: str
    course: str
    legion: str
    start_date: date
    site: str
    lead: str | None
    instructors: list[str] = []
    timetable: list[TimetableOut] = []


class EnrolmentOut(Schema):
    id: int
    person_id: str
    call_sign: str
    state: str
    completed_on: date | None
    attendance_percent: int | None
    modules_passed: int
    at_risk: list[str] = Field(description="failed-assessment and/or low-attendance; empty when not at risk")


class CohortsOut(Schema):
    cohorts: list[CohortOut]
    next: str | None = Field(description="Pass as ``after`` for the next page; null on the last page.")


class EnrolmentsOut(Schema):
    enrolments: list[EnrolmentOut]
    next: str | None = Field(description="Pass as ``after`` for the next page; null on the last page.")


ENROLMENTS_PAGE = 200


class EnrolIn(Schema):
    call_sign: str = Field(min_length=1, max_length=40)


class ResultOut(Schema):
    id: int
    enrolment_id: int
    assessment: str
    attempt: int
    version: int
    score: int
    passed: bool
    entered_by: str
    entered_at: datetime
    instructor_signed_at: datetime | None
    lead_signed_at: datetime | None


class ResultIn(Schema):
    enrolment_id: int
    assessment_id: int
    score: int = Field(ge=0, le=1000)


class CorrectionIn(Schema):
    score: int = Field(ge=0, le=1000)
    reason: str = Field(min_length=1, max_length=500)


class SignIn(Schema):
    role: Literal["instructor", "lead"]


def _result_out(result: Result, assessment_code: str, entered_by: str) -> dict[str, Any]:
    return {
        "id": result.pk,
        "enrolment_id": result.enrolment_id,
        "assessment": assessment_code,
        "attempt": result.attempt,
        "version": result.version,
        "score": result.score,
        "passed": result.passed,
        "entered_by": entered_by,
        "entered_at": result.entered_at,
        "instructor_signed_at": result.instructor_signed_at,
        "lead_signed_at": result.lead_signed_at,
    }


# --- scope of the writes, checked before their body is read (``staff_required(scope=...)``) -------


def _cohort_in_scope(staff: Any, cohort_id: int) -> bool:
    return selectors.cohorts_visible_to(staff, perm=Perm.VIEW_TRAINING).filter(pk=cohort_id).exists()


def _result_in_scope(staff: Any, result_id: int) -> bool:
    cohorts = selectors.cohorts_visible_to(staff, perm=Perm.VIEW_TRAINING)
    return Result.objects.filter(pk=result_id, enrolment__cohort__in=cohorts).exists()


# --- endpoints -----------------------------------------------------------------------------------


@router.get("/courses", response=list[CourseOut], url_name="training-courses", summary="Courses and their modules")
@staff_required(Perm.VIEW_TRAINING)
def courses(request: HttpRequest) -> Any:
    return [
        {
            "id": course.pk,
            "code": course.code,
            "name": course.name,
            "weeks": course.weeks,
            "min_attendance_percent": course.min_attendance_percent,
            "modules": [
                {
                    "id": m.pk,
                    "code": m.code,
                    "name": m.name,
                    "default_week": m.default_week,
                    "grants": [q.code for q in m.grants.all()],
                    "requires": [q.code for q in m.requires.all()],
                    "assessments": list(m.assessments.all()),
                }
                for m in selectors.course_modules(course)
            ],
        }
        for course in Course.objects.all()
    ]


@router.get(
    "/cohorts", response=CohortsOut, url_name="training-cohorts", summary="Cohorts in your scope, newest first (pages)"
)
@staff_required(Perm.VIEW_TRAINING)
def cohorts(request: HttpRequest, after: str = "") -> Any:
    page = selectors.cohorts_page(staff=request_staff(request), after=after or None)
    return {
        "cohorts": [
            {
                "id": c.pk,
                "name": c.name,
                "course": c.course.code,
                "legion": c.legion,
                "start_date": c.start_date,
                "site": c.site,
                "lead": c.lead.get_username() if c.lead else None,
            }
            for c in page.rows
        ],
        "next": page.next,
    }


@router.get(
    "/cohorts/{int:cohort_id}",
    response={200: CohortOut, 404: Problem},
    url_name="training-cohort",
    summary="One cohort",
)
@staff_required(Perm.VIEW_TRAINING)
def cohort(request: HttpRequest, cohort_id: int) -> Any:
    try:
        found = selectors.cohort_for(request_staff(request), cohort_id)
    except NotInScope:
        return _not_found()
    return {
        "id": found.pk,
        "name": found.name,
        "course": found.course.code,
        "legion": found.legion,
        "start_date": found.start_date,
        "site": found.site,
        "lead": found.lead.get_username() if found.lead else None,
        "instructors": selectors.cohort_instructors(found),
        "timetable": [{"module": c.module.code, "week": c.week} for c in selectors.module_columns(found)],
    }


@router.get(
    "/cohorts/{int:cohort_id}/enrolments",
    response={200: EnrolmentsOut, 404: Problem},
    url_name="training-enrolments",
    summary="Enrolled people with progress and risk, by call sign (pages)",
)
@staff_required(Perm.VIEW_TRAINING)
def enrolments(request: HttpRequest, cohort_id: int, after: str = "") -> Any:
    try:
        found = selectors.cohort_for(request_staff(request), cohort_id)
    except NotInScope:
        return _not_found()
    book = selectors.gradebook(cohort=found, after=after or None, limit=ENROLMENTS_PAGE)
    rows = [
        {
            "id": row.enrolment.pk,
            "person_id": row.enrolment.person.pk,
            "call_sign": row.enrolment.person.call_sign,
            "state": row.enrolment.state,
            "completed_on": row.enrolment.completed_on,
            "attendance_percent": row.attendance_percent,
            "modules_passed": row.modules_passed,
            "at_risk": row.risks,
        }
        for row in book.rows
    ]
    return {"enrolments": rows, "next": book.next}


@router.post(
    "/cohorts/{int:cohort_id}/enrolments",
    response={201: EnrolmentOut, 403: Problem, 404: Problem, 422: Problem},
    url_name="training-enrolments",
    summary="Enrol an approved person by call sign",
)
@staff_required(Perm.VIEW_TRAINING, scope=_cohort_in_scope)
@_csrf_checked
def enrol(request: HttpRequest, cohort_id: int, payload: EnrolIn) -> Any:
    try:
        enrolment = services.cohort_enrol(
            actor=request_staff(request), cohort_id=cohort_id, call_sign=payload.call_sign
        )
    except NotInScope:
        return _not_found()
    except services.TrainingError as exc:
        return _refused(exc)
    return Status(
        201,
        {
            "id": enrolment.pk,
            "person_id": enrolment.person.pk,
            "call_sign": enrolment.person.call_sign,
            "state": enrolment.state,
            "completed_on": None,
            "attendance_percent": None,
            "modules_passed": 0,
            "at_risk": [],
        },
    )


@router.get(
    "/cohorts/{int:cohort_id}/results",
    response={200: list[ResultOut], 404: Problem},
    url_name="training-cohort-results",
    summary="Current results of a cohort (latest version of every attempt)",
)
@staff_required(Perm.VIEW_TRAINING)
def cohort_results(request: HttpRequest, cohort_id: int) -> Any:
    try:
        found = selectors.cohort_for(request_staff(request), cohort_id)
    except NotInScope:
        return _not_found()
    rows = (
        Result.objects.filter(enrolment__cohort=found, is_current=True)
        .select_related("assessment", "entered_by")
        .order_by("enrolment_id", "assessment_id", "attempt")
    )
    return [_result_out(r, r.assessment.code, r.entered_by.get_username()) for r in rows]


@router.post(
    "/cohorts/{int:cohort_id}/results",
    response={201: ResultOut, 403: Problem, 404: Problem, 422: Problem},
    url_name="training-cohort-results",
    summary="Record a result (a first attempt, or a retake after a failed one); instructors of the cohort only",
)
@staff_required(Perm.VIEW_TRAINING, scope=_cohort_in_scope)
@_csrf_checked
def result_record(request: HttpRequest, cohort_id: int, payload: ResultIn) -> Any:
    staff = request_staff(request)
    try:
        enrolment = selectors.enrolment_for(staff, payload.enrolment_id, perm=Perm.GRADE)
        if enrolment.cohort_id != cohort_id:
            raise NotInScope
        result = services.result_record(
            actor=staff, enrolment_id=enrolment.pk, assessment_id=payload.assessment_id, score=payload.score
        )
    except NotInScope:
        return _not_found()
    except services.TrainingError as exc:
        return _refused(exc)
    return Status(201, _result_out(result, result.assessment.code, staff.get_username()))


@router.get(
    "/results/{int:result_id}/versions",
    response={200: list[ResultOut], 404: Problem},
    url_name="training-result-versions",
    summary="Every version of every attempt at this result's assessment (its history)",
)
@staff_required(Perm.VIEW_TRAINING)
def result_versions(request: HttpRequest, result_id: int) -> Any:
    try:
        result = selectors.result_for(request_staff(request), result_id)
    except NotInScope:
        return _not_found()
    return [
        _result_out(r, result.assessment.code, r.entered_by.get_username())
        for r in selectors.result_history(result=result)
    ]


@router.post(
    "/results/{int:result_id}/versions",
    response={201: ResultOut, 403: Problem, 404: Problem, 422: Problem},
    url_name="training-result-versions",
    summary="Correct a result: adds a version, keeps the old one in the history",
)
@staff_required(Perm.VIEW_TRAINING, scope=_result_in_scope)
@_csrf_checked
def result_correct(request: HttpRequest, result_id: int, payload: CorrectionIn) -> Any:
    staff = request_staff(request)
    try:
        result = services.result_correct(actor=staff, result_id=result_id, score=payload.score, reason=payload.reason)
    except NotInScope:
        return _not_found()
    except services.TrainingError as exc:
        return _refused(exc)
    return Status(201, _result_out(result, result.assessment.code, staff.get_username()))


@router.get(
    "/results/{int:result_id}/sign-offs",
    response={200: ResultOut, 404: Problem},
    url_name="training-result-sign-offs",
    summary="The result with its sign-off state",
)
@staff_required(Perm.VIEW_TRAINING)
def result_sign_offs(request: HttpRequest, result_id: int) -> Any:
    try:
        result = selectors.result_for(request_staff(request), result_id)
    except NotInScope:
        return _not_found()
    return _result_out(result, result.assessment.code, result.entered_by.get_username())


@router.post(
    "/results/{int:result_id}/sign-offs",
    response={200: ResultOut, 403: Problem, 404: Problem, 422: Problem},
    url_name="training-result-sign-offs",
    summary="Sign a result off, as the instructor who entered it, then as the cohort lead",
)
@staff_required(Perm.VIEW_TRAINING, scope=_result_in_scope)
@_csrf_checked
def result_sign(request: HttpRequest, result_id: int, payload: SignIn) -> Any:
    try:
        result = services.result_sign(actor=request_staff(request), result_id=result_id, as_lead=payload.role == "lead")
    except NotInScope:
        return _not_found()
    except services.TrainingError as exc:
        return _refused(exc)
    return _result_out(result, result.assessment.code, result.entered_by.get_username())
