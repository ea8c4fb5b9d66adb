"""Training's state changes: cohorts, enrolment, attendance, results, sign-off, completion, qualifications.

Every function here is one action: keyword-only arguments, the acting staff member as ``actor``,
one transaction, and an audit entry for each state change written inside it (subject: the
person's pseudonymous id, or ``cohort:<id>`` / ``course:<id>`` for things that are no one's).
Scope is checked here, through ``selectors.cohorts_visible_to``, so the web pages, the API and
any command get the same answer; out of scope raises ``NotInScope`` (404 to the caller).

The rules, in one place:

* Enrolment takes only people whose status is ``approved`` (vetting passed) and moves them to
  ``in_training``; a module's required qualification must be granted by the course itself or held
  by the person on the cohort's start date.
* A result is never overwritten. A retake (after a failed attempt) is a new attempt; a correction
  is a new version of the same attempt with a reason, and the old version stays as history.
* Sign-off: first the instructor who entered the result, then the cohort's lead instructor.
* When the lead signs the last outstanding result and every assessment of every module is passed
  and signed off, the enrolment is completed, the person becomes ``trained`` and receives the
  modules' qualifications. A completed enrolment's results are closed to retakes and corrections.

Must never: read or write a sealed identity, put a name in an audit entry or an export, or
change a row of ``Result`` other than to supersede it or add a sign-off.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from legionary.access.models import Staff
from legionary.access.policy import staff_may
from legionary.access.roles import Perm, Role, ScopeKind
from legionary.access.services import Scope, staff_grant
from legionary.audit.services import audit_record
from legionary.core.reasons import visible_reason
from legionary.identity.callsigns import call_sign_key
from legionary.identity.models import Person, PersonStatus
from legionary.training import selectors
from legionary.training.models import (
    Assessment,
    Attendance,
    Cohort,
    Course,
    Enrolment,
    EnrolmentState,
    Module,
    PersonQualification,
    Qualification,
    Result,
    TimetableEntry,
)
from legionary.training.selectors import NotInScope

__all__ = ["NotInScope", "TrainingError"]


class TrainingError(Exception):
    """The action cannot be done; the message is a sentence that tells the user what to do."""


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _actor_name(actor: Staff) -> str:
    return actor.get_username()


def _cohort_subject(cohort: Cohort | int) -> str:
    return f"cohort:{cohort if isinstance(cohort, int) else cohort.pk}"


# --- curriculum ----------------------------------------------------------------------------------


def _require_curriculum_manager(actor: Staff) -> None:
    # The curriculum is shared by every legion's cohorts, so only a system-wide grant may edit it.
    if not staff_may(actor, Perm.MANAGE_TRAINING):
        raise NotInScope


def course_update(
    *, actor: Staff, course_id: int, name: str, weeks: int, min_attendance_percent: int, description: str
) -> Course:
    _require_curriculum_manager(actor)
    with transaction.atomic():
        course = Course.objects.select_for_update().filter(pk=course_id).first()
        if course is None:
            raise NotInScope
        course.name, course.weeks, course.description = name, weeks, description
        course.min_attendance_percent = min_attendance_percent
        course.full_clean()
        course.save(update_fields=["name", "weeks", "min_attendance_percent", "description"])
        audit_record(
            actor=_actor_name(actor),
            action="training.course_updated",
            subject=f"course:{course.pk}",
            details={"code": course.code, "weeks": weeks, "min_attendance_percent": min_attendance_percent},
        )
    return course


def module_update(
    *,
    actor: Staff,
    module_id: int,
    name: str,
    position: int,
    default_week: int,
    description: str,
    grants: list[int],
    requires: list[int],
) -> Module:
    _require_curriculum_manager(actor)
    with transaction.atomic():
        module = Module.objects.select_for_update().filter(pk=module_id).first()
        if module is None:
            raise NotInScope
        module.name, module.position, module.default_week, module.description = (
            name,
            position,
            default_week,
            description,
        )
        module.full_clean()
        module.save(update_fields=["name", "position", "default_week", "description"])
        module.grants.set(Qualification.objects.filter(pk__in=grants))
        module.requires.set(Qualification.objects.filter(pk__in=requires))
        audit_record(
            actor=_actor_name(actor),
            action="training.module_updated",
            subject=f"module:{module.pk}",
            details={
                "code": module.code,
                "grants": sorted(module.grants.values_list("code", flat=True)),
                "requires": sorted(module.requires.values_list("code", flat=True)),
            },
        )
    return module


def assessment_update(
    *, actor: Staff, assessment_id: int, name: str, kind: str, max_score: int, pass_mark: int
) -> Assessment:
    """Changes an assessment; results already entered keep the pass or fail they were given."""
    _require_curriculum_manager(actor)
    if not 0 <= pass_mark <= max_score:
        raise TrainingError(_("The pass mark must lie between 0 and the maximum score."))
    with transaction.atomic():
        assessment = Assessment.objects.select_for_update().filter(pk=assessment_id).first()
        if assessment is None:
            raise NotInScope
        assessment.name, assessment.kind = name, kind
        assessment.max_score, assessment.pass_mark = max_score, pass_mark
        assessment.full_clean()
        assessment.save(update_fields=["name", "kind", "max_score", "pass_mark"])
        audit_record(
            actor=_actor_name(actor),
            action="training.assessment_updated",
            subject=f"assessment:{assessment.pk}",
            details={"code": assessment.code, "kind": kind, "max_score": max_score, "pass_mark": pass_mark},
        )
    return assessment


def qualification_update(
    *, actor: Staff, qualification_id: int, name: str, validity_months: int | None
) -> Qualification:
    """Changes a qualification; grants already made keep the expiry they were given."""
    _require_curriculum_manager(actor)
    with transaction.atomic():
        qualification = Qualification.objects.select_for_update().filter(pk=qualification_id).first()
        if qualification is None:
            raise NotInScope
        qualification.name, qualification.validity_months = name, validity_months
        qualification.full_clean()
        qualification.save(update_fields=["name", "validity_months"])
        audit_record(
            actor=_actor_name(actor),
            action="training.qualification_updated",
            subject=f"qualification:{qualification.pk}",
            details={"code": qualification.code, "validity_months": validity_months},
        )
    return qualification


# --- cohorts -------------------------------------------------------------------------------------


def cohort_create(
    *, actor: Staff, course_id: int, name: str, legion: str, start_date: date, site: str, now: datetime | None = None
) -> Cohort:
    """A new cohort whose timetable puts each module of the course in its default week."""
    if not staff_may(actor, Perm.MANAGE_TRAINING, legion=legion):
        raise NotInScope
    course = Course.objects.filter(pk=course_id).first()
    if course is None:
        raise NotInScope
    with transaction.atomic():
        cohort = Cohort(course=course, name=name, legion=legion, start_date=start_date, site=site, created_at=_now(now))
        cohort.full_clean()
        cohort.save()
        TimetableEntry.objects.bulk_create(
            [
                TimetableEntry(cohort=cohort, module=m, week=min(m.default_week, course.weeks))
                for m in Module.objects.filter(course=course)
            ]
        )
        audit_record(
            actor=_actor_name(actor),
            action="training.cohort_created",
            subject=_cohort_subject(cohort),
            details={"course": course.code, "legion": legion, "start_date": start_date.isoformat()},
        )
    return cohort


def _managed_cohort(actor: Staff, cohort_id: int) -> Cohort:
    return selectors.cohort_for(actor, cohort_id, perm=Perm.MANAGE_TRAINING)


def cohort_update(
    *, actor: Staff, cohort_id: int, name: str, start_date: date, site: str, lead_id: int | None
) -> Cohort:
    """Changes a cohort's particulars and lead; a new lead is made an instructor of the cohort."""
    cohort = _managed_cohort(actor, cohort_id)
    lead = None
    if lead_id is not None:
        lead = Staff.objects.filter(pk=lead_id, is_active=True).first()
        if lead is None:
            raise TrainingError(_("Choose an active staff member as lead instructor."))
    with transaction.atomic():
        cohort.name, cohort.start_date, cohort.site, cohort.lead = name, start_date, site, lead
        cohort.full_clean()
        cohort.save(update_fields=["name", "start_date", "site", "lead"])
        if lead is not None:
            _grant_instructor(actor=actor, cohort=cohort, staff=lead)
        audit_record(
            actor=_actor_name(actor),
            action="training.cohort_updated",
            subject=_cohort_subject(cohort),
            details={"start_date": start_date.isoformat(), "lead": lead.get_username() if lead else None},
        )
    return cohort


def _grant_instructor(*, actor: Staff, cohort: Cohort, staff: Staff) -> None:
    staff_grant(
        staff=staff,
        role=Role.INSTRUCTOR,
        scope=Scope(ScopeKind.COHORT, str(cohort.pk)),
        actor=_actor_name(actor),
    )


def cohort_add_instructor(*, actor: Staff, cohort_id: int, staff_id: int) -> None:
    """Grants the instructor role scoped to this cohort (audited by ``staff_grant``)."""
    cohort = _managed_cohort(actor, cohort_id)
    staff = Staff.objects.filter(pk=staff_id, is_active=True).first()
    if staff is None:
        raise TrainingError(_("Choose an active staff member as instructor."))
    with transaction.atomic():
        _grant_instructor(actor=actor, cohort=cohort, staff=staff)


def timetable_set(*, actor: Staff, cohort_id: int, module_id: int, week: int) -> TimetableEntry:
    cohort = _managed_cohort(actor, cohort_id)
    if not 1 <= week <= cohort.course.weeks:
        raise TrainingError(_("Choose a week between 1 and %(weeks)d.") % {"weeks": cohort.course.weeks})
    module = Module.objects.filter(pk=module_id, course_id=cohort.course_id).first()
    if module is None:
        raise NotInScope
    with transaction.atomic():
        entry, _created = TimetableEntry.objects.update_or_create(cohort=cohort, module=module, defaults={"week": week})
        audit_record(
            actor=_actor_name(actor),
            action="training.timetable_set",
            subject=_cohort_subject(cohort),
            details={"module": module.code, "week": week},
        )
    return entry


# --- enrolment -----------------------------------------------------------------------------------


def _may_enrol(actor: Staff, cohort_id: int) -> Cohort:
    """Administrators with training in scope, and the cohort's own lead instructor, enrol people."""
    cohort = selectors.cohorts_enrollable_by(actor).filter(pk=cohort_id).select_related("course").first()
    if cohort is None:
        raise NotInScope
    return cohort


def _missing_prerequisites(cohort: Cohort, person: Person) -> list[str]:
    taught = set(Qualification.objects.filter(granted_by__course_id=cohort.course_id).values_list("pk", flat=True))
    needed = Qualification.objects.filter(required_by__course_id=cohort.course_id).exclude(pk__in=taught).distinct()
    held = {
        g.qualification_id
        for g in PersonQualification.objects.filter(person=person, qualification__in=needed)
        if selectors.is_held(g, cohort.start_date)
    }
    return sorted(q.name for q in needed if q.pk not in held)


def cohort_enrol(*, actor: Staff, cohort_id: int, call_sign: str, now: datetime | None = None) -> Enrolment:
    """Enrols an approved person, by call sign, and moves him to ``in_training``."""
    cohort = _may_enrol(actor, cohort_id)
    now = _now(now)
    with transaction.atomic():
        # Locked so that a status change elsewhere (a denial on appeal, say) cannot race the check.
        person = Person.objects.select_for_update().filter(call_sign_key=call_sign_key(call_sign)).first()
        if person is None:
            raise TrainingError(
                _("Nobody has the call sign %(call_sign)s. Check the spelling.") % {"call_sign": call_sign}
            )
        if Enrolment.objects.filter(cohort=cohort, person=person).exists():
            raise TrainingError(
                _("%(call_sign)s is already enrolled in this cohort.") % {"call_sign": person.call_sign}
            )
        if person.status != PersonStatus.APPROVED:
            raise TrainingError(
                _(
                    "%(call_sign)s cannot be enrolled: only people whose vetting is approved can start training "
                    "(current status: %(status)s)."
                )
                % {"call_sign": person.call_sign, "status": PersonStatus(person.status).label}
            )
        if person.legion != cohort.legion:
            raise TrainingError(
                _("%(call_sign)s belongs to another legion than this cohort.") % {"call_sign": person.call_sign}
            )
        missing = _missing_prerequisites(cohort, person)
        if missing:
            raise TrainingError(
                _("%(call_sign)s lacks a qualification this course requires: %(missing)s.")
                % {"call_sign": person.call_sign, "missing": ", ".join(missing)}
            )
        enrolment = Enrolment.objects.create(cohort=cohort, person=person, enrolled_at=now)
        person.status = PersonStatus.IN_TRAINING
        person.save(update_fields=["status"])
        audit_record(
            actor=_actor_name(actor),
            action="training.enrolled",
            subject=person.pk,
            details={"cohort": cohort.pk, "status_from": PersonStatus.APPROVED.value, "status_to": person.status},
        )
    return enrolment


# --- gradebook -----------------------------------------------------------------------------------


def _graded_cohort(actor: Staff, cohort_id: int) -> Cohort:
    return selectors.cohort_for(actor, cohort_id, perm=Perm.GRADE)


def _module_of(cohort: Cohort, module_id: int) -> Module:
    module = Module.objects.filter(pk=module_id, course_id=cohort.course_id).first()
    if module is None:
        raise NotInScope
    return module


def attendance_record(
    *,
    actor: Staff,
    cohort_id: int,
    module_id: int,
    day: date,
    present: Mapping[int, bool],
    now: datetime | None = None,
) -> int:
    """Records who attended a module's session on ``day`` (enrolment id → present); returns changes made."""
    cohort = _graded_cohort(actor, cohort_id)
    module = _module_of(cohort, module_id)
    now = _now(now)
    changed = 0
    with transaction.atomic():
        enrolments = {
            e.pk: e for e in Enrolment.objects.filter(cohort=cohort, pk__in=list(present)).select_related("person")
        }
        if len(enrolments) != len(present):
            raise NotInScope
        existing = {
            a.enrolment_id: a
            for a in Attendance.objects.select_for_update().filter(
                enrolment__in=list(enrolments), module=module, day=day
            )
        }
        for enrolment_id, is_present in present.items():
            before = existing.get(enrolment_id)
            if before is not None and before.present == is_present:
                continue
            if before is None:
                Attendance.objects.create(
                    enrolment_id=enrolment_id,
                    module=module,
                    day=day,
                    present=is_present,
                    recorded_by=actor,
                    recorded_at=now,
                )
            else:
                before.present, before.recorded_by, before.recorded_at = is_present, actor, now
                before.save(update_fields=["present", "recorded_by", "recorded_at"])
            audit_record(
                actor=_actor_name(actor),
                action="training.attendance_recorded",
                subject=enrolments[enrolment_id].person_id,
                details={
                    "cohort": cohort.pk,
                    "module": module.code,
                    "day": day.isoformat(),
                    "present": is_present,
                    "previous": None if before is None else not is_present,
                },
            )
            changed += 1
    return changed


def _open_enrolment(enrolment: Enrolment) -> None:
    if enrolment.state == EnrolmentState.COMPLETED:
        raise TrainingError(
            _("%(call_sign)s has completed the course; the results are closed.")
            % {"call_sign": enrolment.person.call_sign}
        )


def _check_score(assessment: Assessment, score: int) -> None:
    if not 0 <= score <= assessment.max_score:
        raise TrainingError(
            _("A score for %(assessment)s must lie between 0 and %(max)d.")
            % {"assessment": assessment.name, "max": assessment.max_score}
        )


def _record(*, actor: Staff, enrolment: Enrolment, assessment: Assessment, score: int, now: datetime) -> Result:
    _open_enrolment(enrolment)
    _check_score(assessment, score)
    latest = (
        Result.objects.filter(enrolment=enrolment, assessment=assessment, is_current=True).order_by("-attempt").first()
    )
    if latest is not None and latest.passed:
        raise TrainingError(
            _("%(call_sign)s has already passed %(assessment)s; correct that result instead of entering a new one.")
            % {"call_sign": enrolment.person.call_sign, "assessment": assessment.name}
        )
    attempt = 1 if latest is None else latest.attempt + 1
    result = Result.objects.create(
        enrolment=enrolment,
        assessment=assessment,
        attempt=attempt,
        version=1,
        score=score,
        passed=score >= assessment.pass_mark,
        entered_by=actor,
        entered_at=now,
    )
    audit_record(
        actor=_actor_name(actor),
        action="training.result_recorded",
        subject=enrolment.person_id,
        details={
            "cohort": enrolment.cohort_id,
            "assessment": assessment.code,
            "attempt": attempt,
            "score": score,
            "passed": result.passed,
            "result": result.pk,
        },
    )
    return result


def _concurrent() -> TrainingError:
    return TrainingError(_("Someone else changed this result at the same time. Reload the page and try again."))


def result_record(
    *, actor: Staff, enrolment_id: int, assessment_id: int, score: int, now: datetime | None = None
) -> Result:
    """Records a first attempt, or a retake after a failed attempt."""
    enrolment = selectors.enrolment_for(actor, enrolment_id, perm=Perm.GRADE)
    assessment = Assessment.objects.filter(pk=assessment_id, module__course_id=enrolment.cohort.course_id).first()
    if assessment is None:
        raise NotInScope
    try:
        with transaction.atomic():
            Enrolment.objects.select_for_update().filter(pk=enrolment.pk).first()
            return _record(actor=actor, enrolment=enrolment, assessment=assessment, score=score, now=_now(now))
    except IntegrityError:
        raise _concurrent() from None


def results_record(
    *,
    actor: Staff,
    cohort_id: int,
    module_id: int,
    scores: Mapping[tuple[int, int], int],
    now: datetime | None = None,
) -> list[Result]:
    """Records many results of one module at once ((enrolment id, assessment id) → score); all or none."""
    cohort = _graded_cohort(actor, cohort_id)
    module = _module_of(cohort, module_id)
    assessments = {a.pk: a for a in Assessment.objects.filter(module=module)}
    enrolment_ids = {e for e, _a in scores}
    enrolments = {
        e.pk: e for e in Enrolment.objects.filter(cohort=cohort, pk__in=enrolment_ids).select_related("person")
    }
    if set(enrolments) != enrolment_ids or any(a not in assessments for _e, a in scores):
        raise NotInScope
    now = _now(now)
    try:
        with transaction.atomic():
            list(Enrolment.objects.select_for_update().filter(pk__in=enrolment_ids))
            return [
                _record(actor=actor, enrolment=enrolments[e], assessment=assessments[a], score=score, now=now)
                for (e, a), score in sorted(scores.items())
            ]
    except IntegrityError:
        raise _concurrent() from None


def result_correct(*, actor: Staff, result_id: int, score: int, reason: str, now: datetime | None = None) -> Result:
    """Replaces the current version of a result by a new one; the old one stays in the history."""
    result = selectors.result_for(actor, result_id, perm=Perm.GRADE)
    reason = visible_reason(reason, min_length=1)
    if not reason:
        raise TrainingError(_("Say why the result is corrected."))
    if not result.is_current:
        raise TrainingError(_("This version has already been corrected; correct the current version instead."))
    _open_enrolment(result.enrolment)
    _check_score(result.assessment, score)
    try:
        with transaction.atomic():
            superseded = Result.objects.filter(pk=result.pk, is_current=True).update(is_current=False)
            if superseded != 1:
                raise _concurrent()
            corrected = Result.objects.create(
                enrolment=result.enrolment,
                assessment=result.assessment,
                attempt=result.attempt,
                version=result.version + 1,
                score=score,
                passed=score >= result.assessment.pass_mark,
                reason=reason[:500],
                entered_by=actor,
                entered_at=_now(now),
            )
            audit_record(
                actor=_actor_name(actor),
                action="training.result_corrected",
                subject=result.enrolment.person_id,
                details={
                    "cohort": result.enrolment.cohort_id,
                    "assessment": result.assessment.code,
                    "attempt": result.attempt,
                    "version": corrected.version,
                    "score_from": result.score,
                    "score_to": score,
                    "passed": corrected.passed,
                    "reason": reason[:500],
                    "result": corrected.pk,
                    "replaces": result.pk,
                },
            )
    except IntegrityError:
        raise _concurrent() from None
    return corrected


def _sign(*, actor: Staff, result: Result, as_lead: bool, now: datetime) -> None:
    if not result.is_current:
        raise TrainingError(_("This version has been corrected; sign the current version instead."))
    if as_lead:
        if result.enrolment.cohort.lead_id != actor.pk:
            raise TrainingError(_("Only the cohort's lead instructor can give the final sign-off."))
        if result.instructor_signed_at is None:
            raise TrainingError(_("The instructor who entered this result must sign it off first."))
        if result.lead_signed_at is not None:
            raise TrainingError(_("This result is already signed off."))
        result.lead_signed_by, result.lead_signed_at = actor, now
        result.save(update_fields=["lead_signed_by", "lead_signed_at"])
    else:
        if result.entered_by_id != actor.pk:
            raise TrainingError(_("Only the instructor who entered this result can sign it off first."))
        if result.instructor_signed_at is not None:
            raise TrainingError(_("You have already signed this result off."))
        result.instructor_signed_at = now
        result.save(update_fields=["instructor_signed_at"])
    audit_record(
        actor=_actor_name(actor),
        action="training.result_signed_lead" if as_lead else "training.result_signed_instructor",
        subject=result.enrolment.person_id,
        details={"cohort": result.enrolment.cohort_id, "assessment": result.assessment.code, "result": result.pk},
    )


def result_sign(*, actor: Staff, result_id: int, as_lead: bool, now: datetime | None = None) -> Result:
    """Signs one result off, as its instructor or as the cohort lead; the lead's sign-off may complete the course."""
    result = selectors.result_for(actor, result_id, perm=Perm.GRADE)
    now = _now(now)
    with transaction.atomic():
        if not Result.objects.select_for_update().filter(pk=result.pk).exists():
            raise NotInScope
        _sign(actor=actor, result=result, as_lead=as_lead, now=now)
        if as_lead:
            _complete_if_done(actor=actor, enrolment=result.enrolment, today=timezone.localdate(now))
    return result


def results_sign_off(
    *, actor: Staff, cohort_id: int, module_id: int, as_lead: bool, now: datetime | None = None
) -> int:
    """Signs off every result of one module in the cohort that is waiting for this actor; returns how many."""
    cohort = _graded_cohort(actor, cohort_id)
    module = _module_of(cohort, module_id)
    if as_lead and cohort.lead_id != actor.pk:
        raise TrainingError(_("Only the cohort's lead instructor can give the final sign-off."))
    now = _now(now)
    waiting = Result.objects.select_for_update().filter(
        enrolment__cohort=cohort, assessment__module=module, is_current=True
    )
    if as_lead:
        waiting = waiting.filter(instructor_signed_at__isnull=False, lead_signed_at__isnull=True)
    else:
        waiting = waiting.filter(entered_by=actor, instructor_signed_at__isnull=True)
    with transaction.atomic():
        results = list(waiting.select_related("enrolment__cohort", "enrolment__person", "assessment"))
        for result in results:
            _sign(actor=actor, result=result, as_lead=as_lead, now=now)
        if as_lead:
            for enrolment in {r.enrolment_id: r.enrolment for r in results}.values():
                _complete_if_done(actor=actor, enrolment=enrolment, today=timezone.localdate(now))
    return len(results)


# --- completion and qualifications ---------------------------------------------------------------


def _complete_if_done(*, actor: Staff, enrolment: Enrolment, today: date) -> bool:
    """Completes the enrolment if every assessment of the course is passed and signed off."""
    if enrolment.state == EnrolmentState.COMPLETED:
        return False
    needed = set(Assessment.objects.filter(module__course_id=enrolment.cohort.course_id).values_list("pk", flat=True))
    latest: dict[int, Result] = {}
    for result in Result.objects.filter(enrolment=enrolment, is_current=True):
        if result.assessment_id not in latest or latest[result.assessment_id].attempt < result.attempt:
            latest[result.assessment_id] = result
    done = all(a in latest and latest[a].passed and latest[a].lead_signed_at is not None for a in needed)
    if not needed or not done:
        return False
    enrolment.state, enrolment.completed_on = EnrolmentState.COMPLETED, today
    enrolment.save(update_fields=["state", "completed_on"])
    person = Person.objects.select_for_update().get(pk=enrolment.person_id)
    status_from = person.status
    person.status = PersonStatus.TRAINED
    person.save(update_fields=["status"])
    qualifications = list(
        Qualification.objects.filter(granted_by__course_id=enrolment.cohort.course_id).distinct().order_by("code")
    )
    audit_record(
        actor=_actor_name(actor),
        action="training.course_completed",
        subject=person.pk,
        details={
            "cohort": enrolment.cohort_id,
            "status_from": status_from,
            "status_to": person.status,
            "qualifications": [q.code for q in qualifications],
        },
    )
    for qualification in qualifications:
        _grant(actor=actor, person=person, qualification=qualification, granted_on=today, cohort=enrolment.cohort)
    return True


def _grant(
    *, actor: Staff, person: Person, qualification: Qualification, granted_on: date, cohort: Cohort | None
) -> PersonQualification:
    grant = PersonQualification.objects.create(
        person=person,
        qualification=qualification,
        granted_on=granted_on,
        expires_on=selectors.expiry_date(granted_on, qualification.validity_months),
        cohort=cohort,
    )
    audit_record(
        actor=_actor_name(actor),
        action="training.qualification_granted",
        subject=person.pk,
        details={
            "qualification": qualification.code,
            "granted_on": granted_on.isoformat(),
            "expires_on": grant.expires_on.isoformat() if grant.expires_on else None,
            "cohort": cohort.pk if cohort else None,
        },
    )
    return grant


def qualification_grant(
    *, actor: Staff, person_id: str, qualification_id: int, granted_on: date
) -> PersonQualification:
    """Grants (or renews, e.g. after a first-aid recertification) a qualification outside a course."""
    person = selectors.person_for(actor, person_id)
    if not selectors.cohorts_visible_to(actor, perm=Perm.MANAGE_TRAINING).filter(enrolments__person=person).exists():
        raise NotInScope
    qualification = Qualification.objects.filter(pk=qualification_id).first()
    if qualification is None:
        raise NotInScope
    with transaction.atomic():
        return _grant(actor=actor, person=person, qualification=qualification, granted_on=granted_on, cohort=None)


# --- export --------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    # A spreadsheet runs a cell starting with = + - @ as a formula; a leading quote keeps it text.
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def gradebook_export(*, actor: Staff, cohort_id: int) -> tuple[str, int]:
    """The cohort's gradebook as CSV, people by call sign only; returns the text and its row count."""
    cohort = selectors.cohort_for(actor, cohort_id)
    book = selectors.gradebook(cohort=cohort)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["call_sign", "attendance_percent", "modules_passed", "at_risk"]
        + [f"{a.module.code}/{a.code}" for a in book.assessments]
    )
    for row in book.rows:
        writer.writerow(
            [
                _cell(row.enrolment.person.call_sign),
                _cell(row.attendance_percent),
                row.modules_passed,
                " ".join(row.risks),
            ]
            + ["" if cell.result is None else f"{cell.result.score} {cell.state}" for cell in row.cells]
        )
    with transaction.atomic():
        audit_record(
            actor=_actor_name(actor),
            action="training.gradebook_exported",
            subject=_cohort_subject(cohort),
            details={"rows": len(book.rows), "format": "csv"},
        )
    return out.getvalue(), len(book.rows)
