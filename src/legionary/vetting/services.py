"""Vetting's state changes: start, checks, findings, two-person decisions, appeals, retention, screening.

Responsible for every change to a case. Each function checks the actor's permission and scope,
asks ``vetting.states`` whether the step is allowed, bumps ``Case.version`` with
``UPDATE ... WHERE version = expected`` (optimistic locking: a change based on a stale view of the
case fails with ``StaleCase``), sets the person's status and writes its audit entry in the same
transaction.

Must never: read or write plaintext identity except through ``identity.services`` (notes and
appeal grounds are sealed with ``record_seal``); put anything but plain, non-identifying values in
an audit entry; let one adjudicator's vote take effect alone.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from legionary.access.memo import remembering
from legionary.access.models import RoleGrant, Staff
from legionary.access.policy import staff_may
from legionary.access.roles import Perm, ScopeKind
from legionary.access.scopes import grant_rows
from legionary.audit.services import AuditItem, audit_at_end, audit_record, audit_record_many
from legionary.core.reasons import visible_reason
from legionary.identity.models import Person
from legionary.identity.services import (
    erase_person_data,
    possible_pairs_for,
    possible_pairs_many,
    record_seal,
)
from legionary.vetting import guidelines
from legionary.vetting.catalogue import DEFAULT_POLICY, policy_for
from legionary.vetting.models import (
    ADVERSE_RESULTS,
    Appeal,
    Case,
    CaseState,
    Check,
    CheckResult,
    CheckType,
    CiReview,
    Decision,
    Finding,
    FlagResolution,
    HitStrength,
    LegionCheckPolicy,
    Outcome,
    PolicyCheck,
    PolygraphOutcome,
    ScreeningEntry,
    ScreeningFlag,
    ScreeningHit,
    Severity,
)
from legionary.vetting.selectors import NotInScope, open_possible_pairs, visible_cases
from legionary.vetting.states import (
    CLOSED,
    DECIDABLE,
    PERSON_STATUS,
    Transition,
    TransitionRefused,
    VettingError,
    next_state,
)

__all__ = [
    "NotAllowed",
    "NotInScope",
    "PolygraphOnlyDenial",
    "StaleCase",
    "TransitionRefused",
    "VettingError",
]

MIN_RATIONALE = 20
SYSTEM_SCREENING = "system:screening"
SYSTEM_RETENTION = "system:retention"


class NotAllowed(VettingError):
    """The actor sees the case but may not take this step (wrong role, checker, second vote...)."""


class StaleCase(VettingError):
    """The case changed since the actor loaded it."""


class PolygraphOnlyDenial(VettingError):
    """SEAD 4: a denial may not rest on a polygraph result alone."""


# --- helpers --------------------------------------------------------------------------------------


def _name(actor: Any) -> str:
    return str(actor.get_username())


def _today(now: datetime.datetime) -> datetime.date:
    return timezone.localdate(now)


def holds_role(staff: Any, role: str, legion: str) -> bool:
    """Whether ``staff`` holds ``role`` through a system grant or a grant for ``legion``."""
    if staff is None or not staff.is_active:
        return False
    # grant_rows: one query (none inside a ``remembering()`` block that has read them already).
    return any(
        r == role and (kind == ScopeKind.SYSTEM or (kind == ScopeKind.LEGION and ref == legion))
        for r, kind, ref in grant_rows(staff)
    )


def _case_for(case_id: int, actor: Any, perm: Perm) -> Case:
    """The case, if the actor may see it (else ``NotInScope``) and holds ``perm`` for its legion."""
    case = visible_cases(actor).select_related("person").filter(pk=case_id).first()
    if case is None:
        raise NotInScope(_("There is no such case."))
    if not staff_may(actor, perm, legion=case.legion):
        raise NotAllowed(_("Your role does not allow this step on this case."))
    return case


def _bump(case: Case, expected: int, now: datetime.datetime, **fields: Any) -> None:
    """Optimistic lock: applies ``fields`` only if nobody changed the case since version ``expected``."""
    updated = Case.objects.filter(pk=case.pk, version=expected).update(
        version=F("version") + 1, updated_at=now, **fields
    )
    if updated != 1:
        raise StaleCase(
            _("Someone else changed this case while you were working on it. Reload the case and try again.")
        )
    case.version = expected + 1
    case.updated_at = now
    for name, value in fields.items():
        setattr(case, name, value)


def _move(case: Case, transition: Transition, expected: int, now: datetime.datetime, **fields: Any) -> str:
    """Applies a state-machine transition (and the person's status that goes with it); returns the new state."""
    target = next_state(case.state, transition)
    _bump(case, expected, now, state=target, **fields)
    status = PERSON_STATUS.get(target)
    if status is not None:
        Person.objects.filter(pk=case.person_id).update(status=status)
    return str(target)


def _expected(case: Case, expected_version: int | None) -> int:
    return case.version if expected_version is None else expected_version


# --- configuration --------------------------------------------------------------------------------


def legion_policy_set(
    *, actor: Any, legion: str, checks: list[str], ci_review: str, retention_days: int
) -> LegionCheckPolicy:
    """Sets which checks a legion requires, in order, when its CI review applies and its retention period."""
    if not staff_may(actor, Perm.MANAGE_VETTING_POLICY, legion=None if legion == DEFAULT_POLICY else legion):
        raise NotAllowed(_("Only an administrator may change a legion's vetting policy."))
    if ci_review not in CiReview.values:
        raise VettingError(_("Choose when the counter-intelligence review applies: always or only when flagged."))
    known = set(CheckType.objects.filter(slug__in=checks).values_list("slug", flat=True))
    unknown = [c for c in checks if c not in known]
    if unknown or not checks or len(set(checks)) != len(checks):
        raise VettingError(_("List each check once, from the catalogue."))
    if retention_days < 1:
        raise VettingError(_("The retention period must be at least one day."))
    now = timezone.now()
    with transaction.atomic():
        policy, _created = LegionCheckPolicy.objects.update_or_create(
            legion=legion, defaults={"ci_review": ci_review, "retention_days": retention_days, "updated_at": now}
        )
        PolicyCheck.objects.filter(policy=policy).delete()
        PolicyCheck.objects.bulk_create(
            PolicyCheck(policy=policy, check_type_id=slug, position=n) for n, slug in enumerate(checks)
        )
        audit_record(
            actor=_name(actor),
            action="vetting.policy_set",
            details={"legion": legion, "checks": checks, "ci_review": ci_review, "retention_days": retention_days},
        )
    return policy


# --- starting vetting and checks ------------------------------------------------------------------


def _check_row(case: Case, check_type: CheckType, position: int, now: datetime.datetime, **extra: Any) -> Check:
    """A new check of ``case`` (not yet stored), due after its type's number of days."""
    return Check(
        case=case,
        check_type=check_type,
        position=position,
        due_on=_today(now) + datetime.timedelta(days=check_type.due_days),
        created_at=now,
        case_created_at=case.created_at,
        **extra,
    )


def _new_check(case: Case, check_type: CheckType, position: int, now: datetime.datetime, **extra: Any) -> Check:
    check = _check_row(case, check_type, position, now, **extra)
    check.save()
    return check


def _ci_review_type() -> CheckType:
    return CheckType.objects.filter(is_ci_review=True).order_by("slug").first() or CheckType.objects.get(
        slug="ci_review"
    )


def vetting_start(
    *, case_id: int, actor: Any, expected_version: int | None = None, now: datetime.datetime | None = None
) -> Case:
    """Received → in review: creates the legion's checks (and the CI review when due) and screens the lists."""
    now = now or timezone.now()
    # The list screening reads the blind indexes of every listed name: the audit append waits for
    # the end, so the log's lock is not held while it runs.
    # remembering(): the actor's grants are read once for the scope, the permission and the roles.
    with transaction.atomic(), audit_at_end(), remembering():
        case = _case_for(case_id, actor, Perm.ASSIGN_CHECKS)
        _move(case, Transition.START, _expected(case, expected_version), now)
        policy = policy_for(case.legion)
        types = [pc.check_type for pc in policy.checks.select_related("check_type")]
        # A flagged case (a possible duplicate or re-application) always gets the CI review.
        if (case.flagged or policy.ci_review == CiReview.ALWAYS) and not any(t.is_ci_review for t in types):
            types.append(_ci_review_type())
        # One INSERT for all of them, whatever the legion's policy asks.
        Check.objects.bulk_create(
            _check_row(
                case,
                check_type,
                position,
                now,
                opened_by="flagged" if check_type.is_ci_review and case.flagged else "policy",
            )
            for position, check_type in enumerate(types)
        )
        audit_record(
            actor=_name(actor),
            action="case.started",
            subject=case.person_id,
            details={"case": case.pk, "state": case.state, "checks": [t.slug for t in types]},
        )
        _screen_case(case, now)
        _assign_defaults(case, actor, now)
    return case


def default_checkers(case: Case, roles: Iterable[str]) -> dict[str, Any]:
    """Who does each kind of check on ``case`` unless someone says otherwise: role → staff (or absent).

    The case officer for the checks of a role he holds (an investigator's checks, usually); for
    any other role, whoever of that role has the fewest open checks for the case's legion (ties by
    name), so that the polygraph goes to a polygraph examiner and the CI review to a CI officer.
    Three queries, whatever the number of roles and staff.
    """
    chosen = _default_checker_ids(case, roles)
    by_pk = Staff.objects.in_bulk({pk for pk, _username in chosen.values()}) if chosen else {}
    return {role: by_pk[pk] for role, (pk, _username) in chosen.items() if pk in by_pk}


def _default_checker_ids(case: Case, roles: Iterable[str]) -> dict[str, tuple[int, str]]:
    """``default_checkers`` as role → (staff id, username), without reading the staff rows: two queries."""
    wanted = sorted(set(roles))
    if not wanted:
        return {}
    grants = list(
        RoleGrant.objects.filter(role__in=wanted, staff__is_active=True)
        .filter(Q(scope_kind=ScopeKind.SYSTEM) | Q(scope_kind=ScopeKind.LEGION, scope_ref=case.legion))
        .values_list("role", "staff_id", "staff__username")
    )
    load = dict(
        Check.objects.filter(result="", assigned_to__in={pk for _r, pk, _u in grants})
        .values("assigned_to")
        .annotate(n=Count("id"))
        .values_list("assigned_to", "n")
    )
    chosen: dict[str, tuple[int, str]] = {}
    for role in wanted:
        people = sorted({(load.get(pk, 0), username, pk) for r, pk, username in grants if r == role})
        officer = next((p for p in people if p[2] == case.assigned_to_id), None)
        if officer is not None:
            chosen[role] = (officer[2], officer[1])
        elif people:
            chosen[role] = (people[0][2], people[0][1])
    return chosen


def _assign_defaults(case: Case, actor: Any, now: datetime.datetime) -> None:
    """Gives every open, unassigned check of a case just started to its default checker; audited."""
    # Plain values rather than checks with their types: this runs on every start, the commonest vetting write.
    open_checks = list(
        case.checks.filter(result="", assigned_to__isnull=True)
        .order_by("position", "id")
        .values_list("pk", "check_type_id", "check_type__role")
    )
    checkers = _default_checker_ids(case, {role for _pk, _type, role in open_checks})
    given: list[Check] = []
    for pk, type_id, role in open_checks:
        who = checkers.get(role)
        if who is not None:
            given.append(Check(pk=pk, case_id=case.pk, check_type_id=type_id, assigned_to_id=who[0]))
    Check.objects.bulk_update(given, ["assigned_to"])  # one UPDATE, whatever the number of checks
    names = {pk: username for pk, username in checkers.values()}
    _audit_assignments(case, given, actor, names=names)


def _audit_assignments(case: Case, given: list[Check], actor: Any, *, names: Mapping[int, str] | None = None) -> None:
    """One entry for a set of check assignments: parallel lists of check ids, types and assignees.

    ``names``: the assignees' usernames by id, when the checks carry only their assignee's id.
    """
    if given:
        audit_record(
            actor=_name(actor),
            action="checks.assigned",
            subject=case.person_id,
            details={
                "case": case.pk,
                "checks": [c.pk for c in given],
                "types": [c.check_type_id for c in given],
                "assignees": [(names or {}).get(c.assigned_to_id or 0) or _name(c.assigned_to) for c in given],
            },
        )


def case_assign(
    *,
    case_id: int,
    officer: Any,
    actor: Any,
    expected_version: int | None = None,
    now: datetime.datetime | None = None,
) -> Case:
    """Makes ``officer`` the case officer; a case not yet started starts, its checks going to their checkers.

    The officer must hold the investigator's role for the case's legion. One transaction: the
    assignment, the start and their audit entries are stored together or not at all.
    """
    now = now or timezone.now()
    with transaction.atomic(), audit_at_end():
        case = _case_for(case_id, actor, Perm.ASSIGN_CHECKS)
        if case.state in CLOSED:
            raise TransitionRefused(_("This case is closed; its case officer cannot change."))
        if not holds_role(officer, "investigator", case.legion):
            raise VettingError(_("Choose an investigator who works on this legion's cases."))
        expected = _expected(case, expected_version)
        _bump(case, expected, now, assigned_to=officer)
        audit_record(
            actor=_name(actor),
            action="case.assigned",
            subject=case.person_id,
            details={"case": case.pk, "assignee": _name(officer)},
        )
        if case.state == CaseState.RECEIVED:
            vetting_start(case_id=case.pk, actor=actor, expected_version=case.version, now=now)
            case.refresh_from_db()
    return case


def cases_assign(*, case_ids: list[int], officer: Any, actor: Any, now: datetime.datetime | None = None) -> list[Case]:
    """Assigns several cases to one case officer at once: all of them, or (on any refusal) none."""
    if not case_ids:
        raise VettingError(_("Choose at least one application to assign."))
    with transaction.atomic(), audit_at_end():
        return [case_assign(case_id=pk, officer=officer, actor=actor, now=now) for pk in dict.fromkeys(case_ids)]


def checks_assign(
    *,
    case_id: int,
    assignments: Mapping[int, Any],
    actor: Any,
    expected_version: int | None = None,
    now: datetime.datetime | None = None,
) -> list[Check]:
    """Changes who does each open check of one case, all at once (the "assign checks" screen).

    ``assignments`` maps a check id to a staff member holding that check's role for the legion.
    Every assignment is checked before any is stored; one audit entry lists the changes made.
    """
    now = now or timezone.now()
    with transaction.atomic():
        case = _case_for(case_id, actor, Perm.ASSIGN_CHECKS)
        if case.state in CLOSED:
            raise TransitionRefused(_("This case is closed; its checks cannot be reassigned."))
        checks = {c.pk: c for c in case.checks.select_related("check_type").filter(pk__in=list(assignments))}
        if set(checks) != set(assignments):
            raise NotInScope(_("There is no such check."))
        changed: list[Check] = []
        for pk, who in assignments.items():
            check = checks[pk]
            if check.assigned_to_id == getattr(who, "pk", None):
                continue
            if check.is_done:
                raise VettingError(_("A check that already has its result cannot be reassigned."))
            if not holds_role(who, check.check_type.role, case.legion):
                raise VettingError(_("Choose, for each check, a staff member whose role performs it for this legion."))
            check.assigned_to = who
            changed.append(check)
        _bump(case, _expected(case, expected_version), now)
        Check.objects.bulk_update(changed, ["assigned_to"])
        _audit_assignments(case, changed, actor)
    return changed


def check_assign(
    *,
    check_id: int,
    assignee: Any,
    actor: Any,
    expected_version: int | None = None,
    now: datetime.datetime | None = None,
) -> Check:
    """Assigns an open check to a staff member who holds the check's role for the case's legion."""
    now = now or timezone.now()
    with transaction.atomic():
        check = Check.objects.select_related("check_type").filter(pk=check_id).first()
        if check is None:
            raise NotInScope(_("There is no such check."))
        case = _case_for(check.case_id, actor, Perm.ASSIGN_CHECKS)
        if case.state in CLOSED:
            raise TransitionRefused(_("This case is closed; its checks cannot be reassigned."))
        if check.is_done:
            raise VettingError(_("This check already has its result."))
        if not holds_role(assignee, check.check_type.role, case.legion):
            raise VettingError(_("Choose a staff member whose role performs this check for this legion."))
        _bump(case, _expected(case, expected_version), now)
        check.assigned_to = assignee
        check.save(update_fields=["assigned_to"])
        audit_record(
            actor=_name(actor),
            action="check.assigned",
            subject=case.person_id,
            details={"case": case.pk, "check": check.pk, "type": check.check_type_id, "assignee": _name(assignee)},
        )
    return check


@dataclass(frozen=True)
class PolygraphRecord:
    examined_on: datetime.date
    question_areas: list[str]
    outcome: str


def check_record(
    *,
    check_id: int,
    actor: Any,
    result: str,
    note: str = "",
    polygraph: PolygraphRecord | None = None,
    expected_version: int | None = None,
    now: datetime.datetime | None = None,
) -> Check:
    """Records a check's result (and a sealed note); the last result sends the case to the adjudicators."""
    now = now or timezone.now()
    if result not in CheckResult.values:
        raise VettingError(_("Choose a result: clear, concern, disqualifying or could not complete."))
    with transaction.atomic():
        check = Check.objects.select_related("check_type").filter(pk=check_id).first()
        if check is None:
            raise NotInScope(_("There is no such check."))
        case = _case_for(check.case_id, actor, Perm.RECORD_CHECK)
        if check.assigned_to_id != actor.pk:
            raise NotAllowed(_("This check is assigned to someone else; only the assigned staff member records it."))
        if case.state != CaseState.IN_REVIEW:
            raise TransitionRefused(_("Check results can be recorded only while the case is in review."))
        if check.is_done:
            raise VettingError(_("This check already has its result."))
        fields = ["result", "completed_by", "completed_at"]
        if check.check_type.is_polygraph:
            if polygraph is None or polygraph.outcome not in PolygraphOutcome.values or not polygraph.question_areas:
                raise VettingError(_("Record the examination date, the question areas and the polygraph outcome."))
            check.examiner = actor
            check.examined_on = polygraph.examined_on
            check.question_areas = [" ".join(a.split())[:200] for a in polygraph.question_areas if a.strip()]
            check.polygraph_outcome = polygraph.outcome
            fields += ["examiner", "examined_on", "question_areas", "polygraph_outcome"]
        elif polygraph is not None:
            raise VettingError(_("Polygraph details belong to a polygraph examination only."))
        expected = _expected(case, expected_version)
        _bump(case, expected, now)
        if note.strip():
            check.note = record_seal(person=case.person, kind="vetting_note", text=note.strip())
            fields.append("note")
        check.result, check.completed_by, check.completed_at = result, actor, now
        check.save(update_fields=fields)
        audit_record(
            actor=_name(actor),
            action="check.recorded",
            subject=case.person_id,
            details={
                "case": case.pk,
                "check": check.pk,
                "type": check.check_type_id,
                "result": result,
                "polygraph_outcome": check.polygraph_outcome or None,
            },
        )
        _submit_if_complete(case, now, _name(actor))
    return check


def _submit_if_complete(case: Case, now: datetime.datetime, actor_name: str) -> None:
    if case.state == CaseState.IN_REVIEW and not case.checks.filter(result="").exists():
        _move(case, Transition.SUBMIT, case.version, now)
        audit_record(
            actor=actor_name,
            action="case.submitted",
            subject=case.person_id,
            details={"case": case.pk, "state": case.state},
        )


def check_add(
    *,
    case_id: int,
    check_type: str,
    actor: Any,
    expected_version: int | None = None,
    now: datetime.datetime | None = None,
) -> Check:
    """Adds a check to an open case (after a deferral, for instance); a waiting case goes back to review."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _case_for(case_id, actor, Perm.ASSIGN_CHECKS)
        kind = CheckType.objects.filter(slug=check_type).first()
        if kind is None:
            raise VettingError(_("Choose a check from the catalogue."))
        if case.state in CLOSED or case.state == CaseState.RECEIVED:
            raise TransitionRefused(_("Checks can be added only to a case in vetting."))
        expected = _expected(case, expected_version)
        if case.state == CaseState.IN_REVIEW:
            _bump(case, expected, now)
        else:
            _move(case, Transition.REOPEN, expected, now)
        position = (case.checks.order_by("-position").values_list("position", flat=True).first() or 0) + 1
        check = _new_check(case, kind, position, now, opened_by="added")
        audit_record(
            actor=_name(actor),
            action="check.added",
            subject=case.person_id,
            details={"case": case.pk, "check": check.pk, "type": kind.slug, "state": case.state},
        )
    return check


# --- findings -------------------------------------------------------------------------------------


def finding_record(
    *,
    case_id: int,
    actor: Any,
    guideline: str,
    disqualifying_condition: str,
    mitigating_conditions: str = "",
    severity: str,
    source_check_id: int | None = None,
    expected_version: int | None = None,
    now: datetime.datetime | None = None,
) -> Finding:
    """Records a finding against a SEAD 4 guideline.

    The conditions name the guideline's conditions (e.g. "AG 31(b): pattern of minor offences"),
    never facts that identify a person; those go in the check's sealed note.
    """
    now = now or timezone.now()
    condition = " ".join(disqualifying_condition.split())
    if guideline not in guidelines.BY_LETTER:
        raise VettingError(_("Choose one of the 13 adjudicative guidelines (A to M)."))
    if not condition:
        raise VettingError(_("Write the disqualifying condition the finding rests on."))
    if severity not in Severity.values:
        raise VettingError(_("Choose a severity: minor, moderate or serious."))
    with transaction.atomic():
        case = _case_for(case_id, actor, Perm.RECORD_CHECK)
        if case.state in CLOSED or case.state == CaseState.RECEIVED:
            raise TransitionRefused(_("Findings can be recorded only on a case in vetting."))
        source = None
        if source_check_id is not None:
            source = case.checks.filter(pk=source_check_id).first()
            if source is None:
                raise VettingError(_("The finding's source must be a check of this case."))
        _bump(case, _expected(case, expected_version), now)
        finding = Finding.objects.create(
            case=case,
            guideline=guideline,
            disqualifying_condition=condition,
            mitigating_conditions=" ".join(mitigating_conditions.split()),
            severity=severity,
            source_check=source,
            recorded_by=actor,
            created_at=now,
        )
        audit_record(
            actor=_name(actor),
            action="finding.recorded",
            subject=case.person_id,
            details={"case": case.pk, "guideline": guideline, "severity": severity, "check": source_check_id},
        )
    return finding


# --- adjudication ---------------------------------------------------------------------------------


def _refuse_checker(case: Case, actor: Any) -> None:
    did_a_check = case.checks.filter(assigned_to=actor).exists() or case.checks.filter(completed_by=actor).exists()
    if did_a_check or case.checks.filter(examiner=actor).exists() or case.assigned_to_id == actor.pk:
        raise NotAllowed(_("You worked on this case's checks, so you may not adjudicate it."))


def _refuse_earlier_adjudicator(case: Case, actor: Any) -> None:
    appeal_round = case.appeals.order_by("-round").values_list("round", flat=True).first()
    if appeal_round is not None and case.decisions.filter(round__lt=appeal_round, adjudicator=actor).exists():
        raise NotAllowed(_("You decided this case before its appeal; a different pair of adjudicators must decide it."))


def _refuse_polygraph_only_denial(case: Case) -> None:
    adverse = list(case.checks.filter(result__in=ADVERSE_RESULTS).select_related("check_type"))
    polygraph_adverse = (
        any(c.check_type.is_polygraph for c in adverse)
        or case.checks.filter(
            check_type__is_polygraph=True,
            polygraph_outcome__in=[PolygraphOutcome.DI, PolygraphOutcome.INCONCLUSIVE, PolygraphOutcome.REFUSED],
        ).exists()
    )
    other_basis = any(not c.check_type.is_polygraph for c in adverse) or (
        case.findings.exclude(source_check__check_type__is_polygraph=True).exists()
    )
    if other_basis:
        return
    if polygraph_adverse:
        raise PolygraphOnlyDenial(
            _("A denial may not rest on the polygraph alone (SEAD 4). Record the other finding it rests on, or defer.")
        )
    raise VettingError(_("A denial must rest on a finding or an adverse check result; record it first."))


def _clean_factors(factors: Mapping[str, str] | None) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for key, text in (factors or {}).items():
        if key not in guidelines.WHOLE_PERSON_FACTORS:
            raise VettingError(_("Use the nine whole-person factors only."))
        value = " ".join(str(text).split())
        if value:
            cleaned[key] = value[:2000]
    return cleaned


_OUTCOME_TRANSITION = {
    Outcome.APPROVE: Transition.APPROVE,
    Outcome.DENY: Transition.DENY,
    Outcome.DEFER: Transition.DEFER,
}


def case_decide(
    *,
    case_id: int,
    actor: Any,
    outcome: str,
    rationale: str,
    factors: Mapping[str, str] | None = None,
    expected_version: int | None = None,
    now: datetime.datetime | None = None,
) -> Decision:
    """One adjudicator's vote; the decision takes effect when two different adjudicators agree.

    The first vote of a round only records; the second applies the outcome if it agrees and
    escalates the case to a senior adjudicator if not; the senior adjudicator's vote applies. A
    deferral starts a new round for the same adjudicators, an appeal one for a different pair.
    """
    now = now or timezone.now()
    rationale = visible_reason(rationale, min_length=MIN_RATIONALE)
    if outcome not in Outcome.values:
        raise VettingError(_("Choose approve, deny or defer."))
    if not rationale:
        raise VettingError(_("Write the rationale for your decision: the findings weighed and why."))
    cleaned = _clean_factors(factors)
    with transaction.atomic():
        case = _case_for(case_id, actor, Perm.ADJUDICATE)
        if case.state in CLOSED:
            raise TransitionRefused(_("This case is closed; its decision stands unless an appeal is entered."))
        if case.state not in DECIDABLE:
            raise TransitionRefused(_("This case is not waiting for a decision."))
        senior = case.state == CaseState.ESCALATED
        if senior and not staff_may(actor, Perm.ADJUDICATE_SENIOR, legion=case.legion):
            raise NotAllowed(_("The adjudicators disagreed; only a senior adjudicator may decide this case now."))
        _refuse_checker(case, actor)
        _refuse_earlier_adjudicator(case, actor)
        votes = list(case.decisions.filter(round=case.decision_round))
        if any(v.adjudicator_id == actor.pk for v in votes):
            raise NotAllowed(
                _("You have already decided this round; a different adjudicator must give the second decision.")
            )
        if outcome == Outcome.DENY:
            _refuse_polygraph_only_denial(case)
        expected = _expected(case, expected_version)
        this_round = case.decision_round
        seat = 3 if senior else len(votes) + 1
        effect: str | None = None
        if seat == 1:
            _bump(case, expected, now)
        else:
            first = next(v for v in votes if v.seat == 1)
            transition = _OUTCOME_TRANSITION[Outcome(outcome)]
            if seat == 2 and first.outcome != outcome:
                transition = Transition.ESCALATE
            extra: dict[str, Any] = {}
            if transition in (Transition.APPROVE, Transition.DENY):
                extra["decided_at"] = now
            if transition == Transition.DEFER:
                # The same adjudicators decide again once the further checks are in: a new round.
                extra["decision_round"] = this_round + 1
            effect = _move(case, transition, expected, now, **extra)
        try:
            # A savepoint, so that a lost race on the unique seat leaves the transaction usable.
            with transaction.atomic():
                decision = Decision.objects.create(
                    case=case,
                    round=this_round,
                    seat=seat,
                    adjudicator=actor,
                    outcome=outcome,
                    rationale=rationale,
                    factors=cleaned,
                    created_at=now,
                )
        except IntegrityError:
            raise StaleCase(
                _("Someone else changed this case while you were working on it. Reload the case and try again.")
            ) from None
        audit_record(
            actor=_name(actor),
            action="decision.recorded",
            subject=case.person_id,
            details={"case": case.pk, "round": decision.round, "seat": seat, "outcome": outcome, "state": effect},
        )
    return decision


# --- appeals --------------------------------------------------------------------------------------


def appeal_enter(
    *,
    case_id: int,
    actor: Any,
    grounds: str,
    expected_version: int | None = None,
    now: datetime.datetime | None = None,
) -> Appeal:
    """Denied → appealed: the applicant's grounds (sealed); a different pair of adjudicators decides."""
    now = now or timezone.now()
    grounds = (grounds or "").strip()
    if not visible_reason(grounds):
        raise VettingError(_("Write the applicant's grounds for the appeal."))
    with transaction.atomic():
        case = _case_for(case_id, actor, Perm.ENTER_APPEAL)
        if case.person.is_erased:
            raise VettingError(
                _("This person's identity was erased after the retention period; an appeal cannot reopen it.")
            )
        new_round = case.decision_round + 1
        _move(
            case, Transition.APPEAL, _expected(case, expected_version), now, decision_round=new_round, decided_at=None
        )
        appeal = Appeal.objects.create(
            case=case,
            round=new_round,
            grounds=record_seal(person=case.person, kind="appeal_grounds", text=grounds),
            entered_by=actor,
            created_at=now,
        )
        audit_record(
            actor=_name(actor),
            action="case.appealed",
            subject=case.person_id,
            details={"case": case.pk, "round": new_round, "state": case.state},
        )
    return appeal


# --- retention ------------------------------------------------------------------------------------


def retention_run(*, now: datetime.datetime | None = None) -> list[str]:
    """Erases the sealed identity of people denied longer ago than their legion's retention period.

    Their blind-index rows stay (``keep_indexes=True``), so a re-application is still caught, and
    their status stays ``denied``. Idempotent: people already erased are skipped. Returns the ids erased.
    """
    now = now or timezone.now()
    periods: dict[str, int] = {}
    erased: list[str] = []
    due = (
        Case.objects.filter(state=CaseState.DENIED, decided_at__isnull=False, person__erased_at__isnull=True)
        .select_related("person")
        .order_by("decided_at")
    )
    for case in due:
        if case.legion not in periods:
            periods[case.legion] = policy_for(case.legion).retention_days
        if case.decided_at is None or case.decided_at + datetime.timedelta(days=periods[case.legion]) > now:
            continue
        # Each erasure is its own transaction (erase_person_data commits, then scrubs SQLite's WAL).
        erase_person_data(
            person=case.person,
            actor_name=SYSTEM_RETENTION,
            reason=f"retention period of {periods[case.legion]} days after denial ended",
            keep_indexes=True,
        )
        erased.append(case.person_id)
    with transaction.atomic():
        audit_record(
            actor=SYSTEM_RETENTION,
            action="vetting.retention_run",
            details={"as_of": now.isoformat(), "erased": len(erased)},
        )
    return erased


# --- designation and sanctions screening ----------------------------------------------------------

# Loading lists and finding hits live in ``vetting.screening``; what stays here is what a hit does
# to a case in vetting (a CI check, and the designation check's result), which needs this module's
# state machine.

# Cases in vetting: a new match hit opens a CI check on them at once (and reopens one waiting for
# a decision). Received cases get theirs when vetting starts; decided cases are flagged only.
OPEN_VETTING_STATES = (
    CaseState.IN_REVIEW,
    CaseState.AWAITING_DECISION,
    CaseState.APPEALED,
    CaseState.DEFERRED,
    CaseState.ESCALATED,
)


def _screen_case(case: Case, now: datetime.datetime) -> int:
    """Compares the case's person (and next of kin) with every loaded list; a new hit opens a CI check.

    Completes a pending designation-screening check: clear without a match, concern with one.
    Runs inside the caller's transaction; returns the number of new CI checks. Possible hits are
    recorded and flag the case (``vetting.screening``) but open no check by themselves.
    """
    from legionary.vetting import screening

    screening.screen_people([case.person_id])
    hits: dict[int, set[str]] = {}
    for entry_pk, via in ScreeningHit.objects.filter(person_id=case.person_id, strength=HitStrength.MATCH).values_list(
        "entry_id", "via"
    ):
        hits.setdefault(entry_pk, set()).add(via)
    known = (
        set(case.checks.filter(screening_entry__isnull=False).values_list("screening_entry_id", flat=True))
        if hits
        else set()
    )
    new = {pk: via for pk, via in hits.items() if pk not in known}
    if new:
        if case.state in (CaseState.IN_REVIEW,):
            _bump(case, case.version, now)
        else:
            _move(case, Transition.REOPEN, case.version, now)
        position = (case.checks.order_by("-position").values_list("position", flat=True).first() or 0) + 1
        ci_type = _ci_review_type()
        entries = ScreeningEntry.objects.in_bulk(list(new))
        for offset, pk in enumerate(sorted(new)):
            _new_check(case, ci_type, position + offset, now, opened_by="screening", screening_entry=entries[pk])
        audit_record(
            actor=SYSTEM_SCREENING,
            action="screening.check_opened",
            subject=case.person_id,
            details={
                "case": case.pk,
                "entries": sorted(entries[pk].entry_id for pk in new),
                "via": sorted({v for via in new.values() for v in via}),
                "state": case.state,
            },
        )
    result = CheckResult.CONCERN if hits else CheckResult.CLEAR
    # The pending designation-screening check, completed in one UPDATE (none pending: nothing changes).
    if case.checks.filter(check_type__slug="sanctions", result="").update(result=result, completed_at=now):
        audit_record(
            actor=SYSTEM_SCREENING,
            action="check.recorded",
            subject=case.person_id,
            details={"case": case.pk, "type": "sanctions", "result": str(result)},
        )
        _submit_if_complete(case, now, SYSTEM_SCREENING)
    return len(new)


# --- possible duplicates: a CI officer's conclusion ------------------------------------------------

MIN_FLAG_REASON = 10


def flag_resolve(
    *,
    flag_id: int,
    actor: Any,
    resolution: str,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> ScreeningFlag:
    """A counter-intelligence officer concludes on a possible duplicate: the same person, or not.

    "same_person" links the two records (the earlier one's decision is shown on this case);
    "different_people" dismisses the flag and needs a reason. The reason is sealed under the
    flagged person's key; the audit entry holds the resolution and the other record's id only.
    Every flag of a case resolved: the case is no longer on the open-flags lists.
    """
    now = now or timezone.now()
    reason = " ".join((reason or "").split())
    if resolution not in FlagResolution.values:
        raise VettingError(_("Choose whether the two records are the same person or different people."))
    if resolution == FlagResolution.DIFFERENT_PEOPLE and len(reason) < MIN_FLAG_REASON:
        raise VettingError(_("Write why these are different people (what you compared and found)."))
    with transaction.atomic():
        flag = ScreeningFlag.objects.select_for_update().filter(pk=flag_id).first()
        if flag is None:
            raise NotInScope(_("There is no such flag."))
        case = _case_for(flag.case_id, actor, Perm.RECORD_CHECK)
        if not holds_role(actor, "ci_officer", case.legion):
            raise NotAllowed(_("Only a counter-intelligence officer resolves a possible duplicate."))
        if flag.resolved_at is not None:
            raise VettingError(_("This flag was already resolved."))
        _bump(case, case.version, now)
        flag.resolution, flag.resolved_by, flag.resolved_at = resolution, actor, now
        fields = ["resolution", "resolved_by", "resolved_at"]
        if reason:
            flag.resolution_note = record_seal(person=case.person, kind="flag_resolution", text=reason)
            fields.append("resolution_note")
        flag.save(update_fields=fields)
        audit_record(
            actor=_name(actor),
            action="flag.resolved",
            subject=case.person_id,
            details={
                "case": case.pk,
                "flag": flag.pk,
                "other": flag.matched_person_id,
                "resolution": resolution,
                "reasons": [str(r) for r in flag.reasons],
            },
        )
    return flag


def possible_pair_resolve(
    *,
    case_id: int,
    other_id: str,
    actor: Any,
    resolution: str,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> ScreeningFlag:
    """A CI officer concludes on a possible-tier pair (``possible_pairs_for``), which has no flag yet.

    The pair is recorded as a flag of this case (its reasons the possible tier's) and resolved by
    ``flag_resolve`` in the same transaction, so it is audited alike and ``legionary duplicates``
    applies the conclusion alike: "same person" links the two, "different people" dismisses the pair.
    A refused conclusion leaves no flag behind.
    """
    now = now or timezone.now()
    with transaction.atomic():
        case = _case_for(case_id, actor, Perm.RECORD_CHECK)
        if not holds_role(actor, "ci_officer", case.legion):
            raise NotAllowed(_("Only a counter-intelligence officer resolves a possible duplicate."))
        reasons = dict(possible_pairs_for(case.person_id)).get(other_id)
        if reasons is None:
            raise NotInScope(_("There is no such possible duplicate."))
        if ScreeningFlag.objects.filter(case=case, matched_person_id=other_id).exists():
            raise VettingError(_("This flag was already resolved."))
        other = Person.objects.get(pk=other_id)
        # The other's status only when he is the same person: a stranger's denial is no re-application
        # after a denial (reports count ``matched_status``).
        status = other.status if resolution == FlagResolution.SAME_PERSON else ""
        flag = ScreeningFlag.objects.create(
            case=case, matched_person=other, reasons=list(reasons), matched_status=status, created_at=now
        )
        resolved = flag_resolve(flag_id=flag.pk, actor=actor, resolution=resolution, reason=reason, now=now)
        # The pair is concluded from both sides: a case whose last open pair it was leaves the CI
        # officer's "possible duplicates to review".
        for marked in Case.objects.filter(person_id__in=[case.person_id, other_id], possible="open"):
            if not open_possible_pairs(marked.person_id):
                Case.objects.filter(pk=marked.pk).update(possible="concluded")
        return resolved


@dataclass(frozen=True)
class PossibleBackfill:
    """What ``possible_backfill`` did: cases looked at, and marked "open" or "concluded"."""

    examined: int
    open: int
    concluded: int


def possible_backfill(
    *, actor: str, batch_size: int = 1000, progress: Callable[[int], object] | None = None
) -> PossibleBackfill:
    """Marks the cases that arrived before ``Case.possible`` existed as arrival would have marked them.

    Every unmarked case (``possible=""``), in arrival order, a batch at a time (a transaction each):
    its person's possible-tier pairs (``possible_pairs_many``, blind indexes only) with people who
    arrived earlier, as arrival pairs a newcomer only with those stored before him. A pair that no
    flag joins yet makes the case "open" (the CI officer's "possible duplicates to review"); pairs all
    joined by a flag (a CI officer has concluded on them) make it "concluded", as his conclusion would
    have. One ``screening.possible`` audit entry per case marked (the same as arrival's, by
    pseudonymous ids and reason names), and one ``screening.possible_backfilled`` with the totals.

    Idempotent: a case already marked is never touched again, and a second run marks nothing more
    (it looks at the unmarked cases again, at the same cost). Safe beside arrivals, which mark their
    own cases; a case marked meanwhile is left as it is (``possible=""`` in the update).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    examined = marked_open = marked_concluded = 0
    after: tuple[datetime.datetime, int] | None = None
    while True:
        unmarked = Case.objects.filter(possible="")
        if after is not None:
            unmarked = unmarked.filter(Q(created_at__gt=after[0]) | Q(created_at=after[0], pk__gt=after[1]))
        batch = list(unmarked.order_by("created_at", "pk").values_list("created_at", "pk", "person_id")[:batch_size])
        if not batch:
            break
        after = (batch[-1][0], batch[-1][1])
        examined += len(batch)
        arrived = {person: (at, pk) for at, pk, person in batch}
        found = possible_pairs_many(list(arrived))
        others = {other for pairs in found.values() for other, _reasons in pairs} - set(arrived)
        arrived.update(
            {
                person: (at, pk)
                for person, at, pk in Case.objects.filter(person_id__in=list(others)).values_list(
                    "person_id", "created_at", "pk"
                )
            }
        )
        # Paired with those who arrived before him only (someone without a case was stored before).
        earlier = {
            person: kept
            for person, pairs in found.items()
            if (kept := [(o, r) for o, r in pairs if o not in arrived or arrived[o] < arrived[person]])
        }
        joined: set[frozenset[str]] = set()
        if earlier:
            people = list(earlier)
            paired = list({o for pairs in earlier.values() for o, _r in pairs})
            for mine, theirs in ScreeningFlag.objects.filter(
                case__person_id__in=people, matched_person_id__in=paired
            ).values_list("case__person_id", "matched_person_id"):
                joined.add(frozenset((mine, theirs)))
            for theirs, mine in ScreeningFlag.objects.filter(
                case__person_id__in=paired, matched_person_id__in=people
            ).values_list("case__person_id", "matched_person_id"):
                joined.add(frozenset((mine, theirs)))
        to_open = [p for p, pairs in earlier.items() if any(frozenset((p, o)) not in joined for o, _r in pairs)]
        to_conclude = [p for p in earlier if p not in set(to_open)]
        with transaction.atomic():
            opened = _mark_unmarked(to_open, "open")
            concluded = _mark_unmarked(to_conclude, "concluded")
            audit_record_many(
                [
                    AuditItem(
                        actor=actor,
                        action="screening.possible",
                        subject=person,
                        details={
                            "matched": [o for o, _r in earlier[person]],
                            "reasons": sorted({r for _o, reasons in earlier[person] for r in reasons}),
                            "backfill": state,
                        },
                    )
                    for state, people in (("open", opened), ("concluded", concluded))
                    for person in people
                ]
            )
        marked_open += len(opened)
        marked_concluded += len(concluded)
        if progress:
            progress(len(batch))
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="screening.possible_backfilled",
            details={"examined": examined, "open": marked_open, "concluded": marked_concluded},
        )
    return PossibleBackfill(examined=examined, open=marked_open, concluded=marked_concluded)


def _mark_unmarked(person_ids: list[str], state: str) -> list[str]:
    """Sets ``possible`` to ``state`` on those of these people's cases still unmarked; returns whose."""
    if not person_ids:
        return []
    cases = Case.objects.select_for_update().filter(person_id__in=person_ids, possible="")
    still = list(cases.values_list("person_id", flat=True))
    Case.objects.filter(person_id__in=still, possible="").update(possible=state)
    return sorted(still)


def checkers_for(*, legion: str, roles: Iterable[str]) -> dict[str, list[Staff]]:
    """Active staff holding each role for ``legion`` (system-wide or for that legion), by name; one query."""
    wanted = set(roles)
    grants = (
        RoleGrant.objects.filter(role__in=wanted, staff__is_active=True)
        .filter(Q(scope_kind=ScopeKind.SYSTEM) | Q(scope_kind=ScopeKind.LEGION, scope_ref=legion))
        .select_related("staff")
        .order_by("staff__username")
    )
    out: dict[str, list[Staff]] = {role: [] for role in wanted}
    for grant in grants:
        if all(s.pk != grant.staff_id for s in out[grant.role]):
            out[grant.role].append(grant.staff)
    return out
