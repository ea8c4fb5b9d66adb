"""Purpose-bound opening: the one gate every opening of sealed data goes through (issue 21).

An opening (an identity, its next of kin, a person's documents) is *for* something assigned to the
person opening it: a vetting check, a case, or a unit he commands; the opening names it in its audit
entry. Opening anything else, even within one's scope, is **break-glass**: a request that a second
member of staff holding the security-officer role for the person's legion approves within
``approval_minutes`` (never the requester; an approval is good for one opening before it expires),
or, where the legion's policy says ``"alert"``, an opening at once that alerts the security officer.
Past one's role's daily **allowance**, every further opening needs approval the same way.

Callers (``identity.services``) call ``admit`` before their audit transaction, outside any
transaction: it returns an ``Admission`` or raises ``OpeningHeld`` once the request and its audit
entry are committed. Inside the transaction that writes the opening's audit entry they call
``consume``, which writes the ``Opening`` row and spends an approval exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from legionary.access.roles import ROLE_PERMISSIONS, Perm, Role, ScopeKind
from legionary.audit.services import audit_record
from legionary.identity.models import Opening, OpeningRequest, Person

# The kinds of opening, by the permission asked for.
IDENTITY, KIN, DOCUMENTS, RECORD = "identity", "kin", "documents", "record"
KINDS = (IDENTITY, KIN, DOCUMENTS)
# A sealed record (the motivation) shown with an identity rides on that opening for this long.
RECORD_FOLLOWS = timedelta(minutes=15)
# An allowance for a role the policy does not name.
DEFAULT_ALLOWANCE = 10

PENDING, APPROVED, REFUSED, USED, EXPIRED, IMMEDIATE = "pending", "approved", "refused", "used", "expired", "immediate"
UNASSIGNED, ALLOWANCE = "unassigned", "allowance"


class OpeningError(Exception):
    """A refusal of the gate, in one sentence for the person."""


class OpeningHeld(OpeningError):
    """The opening waits for a security officer's approval (the request is committed)."""

    def __init__(self, request: OpeningRequest) -> None:
        super().__init__("This opening is held until a security officer approves it.")
        self.request = request


@dataclass(frozen=True)
class Policy:
    break_glass: str  # "approval" or "alert"
    approval_minutes: int
    allowance: dict[str, int]

    def allowance_of(self, roles: set[str]) -> int:
        """The largest allowance of the given roles (the policy's default for a role it omits)."""
        return max((int(self.allowance.get(role, DEFAULT_ALLOWANCE)) for role in roles), default=0)


def policy_for(legion: str) -> Policy:
    """The opening policy of a legion: the default with the legion's overrides."""
    config = getattr(settings, "LEGIONARY_OPENING_POLICY", {})
    merged: dict[str, Any] = {"break_glass": "approval", "approval_minutes": 30, "allowance": {}}
    merged.update(config.get("default", {}))
    override = config.get("legions", {}).get(legion, {})
    allowance = {**merged["allowance"], **override.get("allowance", {})}
    merged.update(override)
    return Policy(
        break_glass="alert" if merged["break_glass"] == "alert" else "approval",
        approval_minutes=max(1, int(merged["approval_minutes"])),
        allowance=allowance,
    )


def kind_of(perm: Perm) -> str:
    return KIN if perm == Perm.CONTACT_NEXT_OF_KIN else IDENTITY


@dataclass(frozen=True)
class Assignment:
    check_id: int | None = None
    case_id: int | None = None
    unit_id: int | None = None

    def details(self) -> dict[str, int]:
        return {
            key: value
            for key, value in (("check", self.check_id), ("case", self.case_id), ("unit", self.unit_id))
            if value is not None
        }


def assignment_of(staff: Any, person: Person, perm: Perm) -> Assignment | None:
    """What the person being opened is assigned to ``staff`` through: an open check of his case
    (assigned or examined), else the case itself; for a commander's next-of-kin
    opening, a unit he commands (a unit-scoped grant) holding the person's latest billet."""
    from legionary.units.models import Assignment as Billeting
    from legionary.units.models import Unit
    from legionary.vetting.models import Case, Check

    if perm == Perm.CONTACT_NEXT_OF_KIN:
        refs = [
            int(ref)
            for ref in staff.grants.filter(role=Role.UNIT_COMMANDER, scope_kind=ScopeKind.UNIT).values_list(
                "scope_ref", flat=True
            )
            if ref.isdigit()
        ]
        for unit in Unit.objects.filter(pk__in=refs).only("pk", "path"):
            if Billeting.objects.filter(person=person, is_latest=True, billet__unit__path__within=unit.path).exists():
                return Assignment(unit_id=unit.pk)
        return None
    # An open check is a purpose; a finished one is not (opening again is break-glass).
    check = (
        Check.objects.filter(case__person=person, result="")
        .filter(Q(assigned_to=staff) | Q(examiner=staff))
        .order_by("due_on", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if check is not None:
        return Assignment(check_id=check)
    case = Case.objects.filter(person=person, assigned_to=staff).values_list("pk", flat=True).first()
    return Assignment(case_id=case) if case is not None else None


def _roles_for(staff: Any, perm: Perm, legion: str) -> set[str]:
    from legionary.access.scopes import grant_rows  # scopes reads the domain apps' models: imported late

    rows = grant_rows(staff)  # read once per opening when the view remembers them (memo.remembering)
    return {
        role
        for role, kind, ref in rows
        if perm in ROLE_PERMISSIONS.get(role, frozenset())
        and (kind != ScopeKind.LEGION or ref == legion)
        and kind in (ScopeKind.SYSTEM, ScopeKind.LEGION, ScopeKind.UNIT, ScopeKind.CASE, ScopeKind.COHORT)
    }


def start_of_day(moment: datetime | None = None) -> datetime:
    local = timezone.localtime(moment or timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def openings_today(staff: Any) -> int:
    """How many openings count against ``staff``'s allowance today (sealed records ride on theirs)."""
    return Opening.objects.filter(staff=staff, at__gte=start_of_day()).exclude(kind=RECORD).count()


@dataclass(frozen=True)
class Admission:
    """Why an opening may go ahead: its assignment, or the break-glass request it goes through."""

    staff_pk: int
    person_id: str
    kind: str
    assignment: Assignment | None = None
    request_pk: int | None = None
    spends_approval: bool = False

    def details(self) -> dict[str, Any]:
        """What the opening's audit entry says about its purpose."""
        out: dict[str, Any] = dict(self.assignment.details()) if self.assignment else {}
        if self.request_pk is not None:
            out["break_glass"] = self.request_pk
        return out


def _audit(actor: str, action: str, request: OpeningRequest, **extra: Any) -> None:
    audit_record(
        actor=actor,
        action=action,
        subject=request.person_id,
        details={"request": request.pk, "kind": request.kind, "cause": request.cause, **extra},
    )


def admit(*, actor: Any, person: Person, perm: Perm, kind: str, reason: str) -> Admission:
    """The gate (run outside any transaction, after the caller checked scope and reason).

    Assigned and within the allowance: admitted, naming the assignment. Otherwise an approved,
    unexpired, unused request of this person for this person and kind is spent; failing that, a
    break-glass request is made: held (``OpeningHeld``) or, for an unassigned opening where the
    legion's policy is ``"alert"``, let through at once and shown to the security officer.
    """
    staff = actor.staff
    now = timezone.now()
    if kind == RECORD:
        # A sealed record shown with an identity opening rides on it, as pictures ride on theirs.
        recent = (
            Opening.objects.filter(staff=staff, person=person, kind=IDENTITY, at__gte=now - RECORD_FOLLOWS)
            .order_by("-at")
            .first()
        )
        if recent is not None:
            return Admission(staff_pk=staff.pk, person_id=person.pk, kind=RECORD)
        kind_checked = IDENTITY
    else:
        kind_checked = kind
    policy = policy_for(person.legion)
    assignment = assignment_of(staff, person, perm)
    within = openings_today(staff) < policy.allowance_of(_roles_for(staff, perm, person.legion))
    if assignment is not None and within:
        return Admission(staff_pk=staff.pk, person_id=person.pk, kind=kind, assignment=assignment)
    granted = (
        OpeningRequest.objects.filter(
            requester=staff, person=person, kind=kind_checked, state=APPROVED, expires_at__gt=now
        )
        .order_by("decided_at")
        .first()
    )
    if granted is not None:
        return Admission(
            staff_pk=staff.pk,
            person_id=person.pk,
            kind=kind,
            assignment=assignment,
            request_pk=granted.pk,
            spends_approval=True,
        )
    cause = UNASSIGNED if assignment is None else ALLOWANCE
    immediate = cause == UNASSIGNED and policy.break_glass == "alert" and within
    with transaction.atomic():
        request = OpeningRequest.objects.create(
            person=person,
            requester=staff,
            kind=kind_checked,
            cause=cause,
            reason=reason[:500],
            state=IMMEDIATE if immediate else PENDING,
            created_at=now,
            expires_at=now + timedelta(minutes=policy.approval_minutes),
        )
        _audit(actor.name, "opening.break_glass" if immediate else "opening.requested", request, reason=reason[:500])
    _forget_counts(person.legion)
    if immediate:
        return Admission(staff_pk=staff.pk, person_id=person.pk, kind=kind, request_pk=request.pk)
    raise OpeningHeld(request)


def consume(admission: Admission, *, audit_index: int | None = None) -> None:
    """Inside the opening's audit transaction: records the opening and spends its approval once."""
    now = timezone.now()
    if admission.spends_approval and admission.request_pk is not None:
        spent = OpeningRequest.objects.filter(pk=admission.request_pk, state=APPROVED, expires_at__gt=now).update(
            state=USED, used_at=now
        )
        if spent != 1:
            raise OpeningError("This approval has already been used or has expired; ask again.")
    assignment = admission.assignment or Assignment()
    Opening.objects.create(
        staff_id=admission.staff_pk,
        person_id=admission.person_id,
        kind=admission.kind,
        at=now,
        check_id=assignment.check_id,
        case_id=assignment.case_id,
        unit_id=assignment.unit_id,
        request_id=admission.request_pk,
        audit_index=audit_index,
    )


# --- the security officer's decision -------------------------------------------------------------


def may_decide(staff: Any, request: OpeningRequest) -> bool:
    """A security officer of the person's legion (or of the whole system), never the requester."""
    if staff is None or not staff.is_active or staff.pk == request.requester_id:
        return False
    legion = request.person.legion
    return bool(
        staff.grants.filter(role=Role.SECURITY_OFFICER, scope_kind=ScopeKind.SYSTEM).exists()
        or staff.grants.filter(role=Role.SECURITY_OFFICER, scope_kind=ScopeKind.LEGION, scope_ref=legion).exists()
    )


def decide(*, request_pk: int, approver: Any, approve: bool, note: str = "") -> OpeningRequest:
    """Approves (good for one opening within the legion's ``approval_minutes``) or refuses a held
    request. An expired request is marked expired and opens nothing (``OpeningError``)."""
    now = timezone.now()
    with transaction.atomic():
        request = OpeningRequest.objects.select_for_update().select_related("person").filter(pk=request_pk).first()
        if request is None:
            raise OpeningError("There is no such request.")
        if request.requester_id == approver.pk:
            raise OpeningError("You cannot approve or refuse your own request: another security officer must.")
        if not may_decide(approver, request):
            raise OpeningError("Only a security officer of this person's legion may decide this request.")
        if request.state != PENDING:
            raise OpeningError("This request has already been decided.")
        if request.expires_at <= now:
            request.state = EXPIRED
            request.save(update_fields=["state"])
            _audit(approver.get_username(), "opening.expired", request)
            expired = True
        else:
            expired = False
            minutes = policy_for(request.person.legion).approval_minutes
            request.state = APPROVED if approve else REFUSED
            request.decided_by = approver
            request.decided_at = now
            if approve:
                request.expires_at = now + timedelta(minutes=minutes)
            request.save(update_fields=["state", "decided_by", "decided_at", "expires_at"])
            details = {"note": " ".join(note.split())[:500]} if note.strip() else {}
            _audit(approver.get_username(), "opening.approved" if approve else "opening.refused", request, **details)
    _forget_counts(request.person.legion, request.requester_id)
    if expired:
        raise OpeningError("This request expired before it was decided; it opens nothing.")
    return request


def _forget_counts(legion: str, *staff_pks: Any) -> None:
    from legionary.access import mywork

    for pk in staff_pks:
        mywork.forget_counts(pk)


# --- traceable views -----------------------------------------------------------------------------


def watermark_text(username: str, moment: datetime | None = None) -> str:
    """What a page or picture showing an identity carries, faintly: the viewer's account and the
    time (UTC), so that a photograph of the screen names who took it and when."""
    at = (moment or timezone.now()).astimezone(UTC)
    return f"{username} · {at:%Y-%m-%d %H:%M} UTC"
