"""Every change to units, billets, assignments and service status; each one audited in its transaction.

Responsible for the rules: a unit sits under a unit of a higher rank and inside its legion (legions
are kept apart: a unit's legion is its legion ancestor's, and nothing moves between legions); a
``trained`` person is assigned only to a billet of his own legion whose required qualifications he
holds on the day, unless a second staff member approves a reasoned override; service status moves
only along ``STATUS_TRANSITIONS``, dated and reasoned. Scope is checked here through
``access.scopes`` (out of scope raises ``Http404``, as if the object did not exist).

Must never: read a sealed identity except through ``identity.services.unseal_identity`` (the
next-of-kin action), put a name in a row or an audit entry, or change a row without its audit entry.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Value
from django.db.models.functions import Concat, Length, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from legionary.access.models import Staff
from legionary.access.policy import staff_may
from legionary.access.roles import Perm
from legionary.access.scopes import (
    get_in_scope_or_404,
    people_awaiting_assignment,
    people_visible_to,
    units_visible_to,
)
from legionary.audit.services import audit_record
from legionary.core.reasons import visible_reason
from legionary.identity.models import Person, PersonStatus
from legionary.identity.services import Actor, unseal_identity
from legionary.training.models import Qualification
from legionary.units import selectors
from legionary.units.models import (
    KIND_RANK,
    Assignment,
    Billet,
    BilletRole,
    OverrideRequest,
    StatusChange,
    Unit,
    UnitKind,
    path_segment,
)

REASON_MIN = 5
REASON_MAX = 500

# Where a person's service status may go next. Discharged and deceased are final.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    PersonStatus.ASSIGNED: frozenset(
        {
            PersonStatus.ACTIVE,
            PersonStatus.ON_LEAVE,
            PersonStatus.WOUNDED,
            PersonStatus.MISSING,
            PersonStatus.DISCHARGED,
            PersonStatus.DECEASED,
        }
    ),
    PersonStatus.ACTIVE: frozenset(
        {
            PersonStatus.ON_LEAVE,
            PersonStatus.WOUNDED,
            PersonStatus.MISSING,
            PersonStatus.DISCHARGED,
            PersonStatus.DECEASED,
        }
    ),
    PersonStatus.ON_LEAVE: frozenset(
        {
            PersonStatus.ACTIVE,
            PersonStatus.WOUNDED,
            PersonStatus.MISSING,
            PersonStatus.DISCHARGED,
            PersonStatus.DECEASED,
        }
    ),
    PersonStatus.WOUNDED: frozenset(
        {
            PersonStatus.ACTIVE,
            PersonStatus.ON_LEAVE,
            PersonStatus.MISSING,
            PersonStatus.DISCHARGED,
            PersonStatus.DECEASED,
        }
    ),
    PersonStatus.MISSING: frozenset(
        {PersonStatus.ACTIVE, PersonStatus.WOUNDED, PersonStatus.DISCHARGED, PersonStatus.DECEASED}
    ),
}
# Leaving service frees the billet; the person stays with his last unit (see Assignment.is_latest).
LEAVES_BILLET = frozenset({PersonStatus.DISCHARGED, PersonStatus.DECEASED})
# Who may be put into a billet: a trained person, or one already serving (a transfer).
ASSIGNABLE = frozenset({PersonStatus.TRAINED, PersonStatus.ASSIGNED, PersonStatus.ACTIVE})


class UnitsError(Exception):
    """A units action cannot be done; the message says what to do, in one sentence."""


class QualificationsMissing(UnitsError):
    """The person lacks required qualifications; an override (reason + second approver) is needed."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(
            _(
                "This person lacks a required qualification (%(codes)s); ask for an override with a reason, "
                "which another staff member must approve."
            )
            % {"codes": ", ".join(codes)}
        )
        self.codes = codes


def _reason(text: str) -> str:
    reason = visible_reason(text, min_length=REASON_MIN)
    if not reason:
        raise UnitsError(_("Write the reason (at least a few words)."))
    return reason[:REASON_MAX]


def _managed_unit(actor: Staff, unit_id: int) -> Unit:
    return get_in_scope_or_404(units_visible_to(actor, perm=Perm.MANAGE_UNITS), pk=unit_id)


# --- the tree ------------------------------------------------------------------------------------


def _check_placement(kind: str, parent: Unit | None) -> None:
    if parent is None:
        if kind != UnitKind.FRAMEWORK:
            raise UnitsError(_("Only the framework stands at the top; choose a parent unit."))
        return
    if KIND_RANK[kind] <= KIND_RANK[parent.kind]:
        raise UnitsError(_("A unit can only sit under a larger unit (a platoon under a company, not the reverse)."))


def unit_create(
    *,
    actor: Staff,
    kind: str,
    name: str,
    overseer: Staff,
    parent_id: int | None = None,
    legion: str = "",
    commander_call_sign: str = "",
) -> Unit:
    """A new unit under ``parent_id`` (which the actor manages); a top-level framework needs a system grant."""
    if kind not in UnitKind.values:
        raise UnitsError(_("Choose the unit's kind."))
    parent = None
    if parent_id is not None:
        parent = _managed_unit(actor, parent_id)
    elif not staff_may(actor, Perm.MANAGE_UNITS):
        # A top-level framework is outside every legion, so only a system-wide grant covers it.
        raise UnitsError(_("Only an administrator of the whole system may create a top-level unit."))
    _check_placement(kind, parent)
    if kind == UnitKind.LEGION:
        if not legion:
            raise UnitsError(_("Give the legion's short name (for example frl)."))
    else:
        # A unit's legion is its legion ancestor's, whatever was asked.
        legion = parent.legion if parent is not None else ""
    name = " ".join(name.split())
    if not name:
        raise UnitsError(_("Give the unit a name."))
    with transaction.atomic():
        # The id is part of the path, so the row is written first with a placeholder path that
        # cannot collide (paths are digits and dots only).
        unit = Unit.objects.create(
            parent=parent,
            kind=kind,
            name=name,
            legion=legion,
            path=f"new-{timezone.now().timestamp()}-{name[:40]}",
            overseer=overseer,
            commander_call_sign=commander_call_sign.strip(),
            created_at=timezone.now(),
        )
        unit.path = (parent.path if parent is not None else "") + path_segment(unit.pk)
        unit.save(update_fields=["path"])
        audit_record(
            actor=actor.username,
            action="units.unit_created",
            details={
                "unit": unit.pk,
                "parent": parent.pk if parent else None,
                "kind": kind,
                "legion": legion,
                "overseer": overseer.username,
            },
        )
    return unit


def unit_move(*, actor: Staff, unit_id: int, new_parent_id: int) -> int:
    """Moves a unit and its subtree under another unit of the same legion; returns how many units moved.

    The whole subtree is re-pathed by one UPDATE: each path's old prefix is replaced by the new one.
    """
    with transaction.atomic():
        unit = _managed_unit(actor, unit_id)
        parent = _managed_unit(actor, new_parent_id)
        if unit.parent_id is None:
            raise UnitsError(_("The framework cannot be moved."))
        if parent.path.startswith(unit.path):
            raise UnitsError(_("A unit cannot be moved under itself or under one of its own units."))
        if parent.legion != unit.legion:
            raise UnitsError(_("Legions are kept apart: a unit cannot move into another legion."))
        _check_placement(unit.kind, parent)
        old_prefix, new_prefix = unit.path, parent.path + path_segment(unit.pk)
        old_parent_id = unit.parent_id
        moved = Unit.objects.filter(path__within=old_prefix).update(
            path=Concat(Value(new_prefix), Substr(F("path"), len(old_prefix) + 1, Length("path")))
        )
        Unit.objects.filter(pk=unit.pk).update(parent=parent)
        audit_record(
            actor=actor.username,
            action="units.unit_moved",
            details={"unit": unit.pk, "from_parent": old_parent_id, "to_parent": parent.pk, "units_moved": moved},
        )
    return moved


def unit_set_overseer(*, actor: Staff, unit_id: int, overseer: Staff) -> Unit:
    with transaction.atomic():
        unit = _managed_unit(actor, unit_id)
        before = unit.overseer.username
        unit.overseer = overseer
        unit.save(update_fields=["overseer"])
        audit_record(
            actor=actor.username,
            action="units.overseer_changed",
            details={"unit": unit.pk, "from": before, "to": overseer.username},
        )
    return unit


# --- billets and assignments ---------------------------------------------------------------------


def billet_create(*, actor: Staff, unit_id: int, role: str, title: str = "", qualification_codes: list[str]) -> Billet:
    if role not in BilletRole.values:
        raise UnitsError(_("Choose the billet's role."))
    qualifications = list(Qualification.objects.filter(code__in=qualification_codes))
    unknown = sorted(set(qualification_codes) - {q.code for q in qualifications})
    if unknown:
        raise UnitsError(
            _("Unknown qualification %(code)s; choose one from the curriculum.") % {"code": repr(unknown[0])}
        )
    with transaction.atomic():
        unit = _managed_unit(actor, unit_id)
        billet = Billet.objects.create(unit=unit, role=role, title=" ".join(title.split()), created_at=timezone.now())
        billet.qualifications.set(qualifications)
        audit_record(
            actor=actor.username,
            action="units.billet_created",
            details={
                "unit": unit.pk,
                "billet": billet.pk,
                "role": role,
                "requires": sorted(q.code for q in qualifications),
            },
        )
    return billet


def _assignable(actor: Staff, person_id: str, billet_id: int) -> tuple[Person, Billet]:
    """The billet (in the actor's units) and the person (serving in his scope, or trained and awaiting
    assignment in his units' legions), locked, if the person may go into the billet."""
    billet = get_in_scope_or_404(
        Billet.objects.filter(unit__in=units_visible_to(actor, perm=Perm.ASSIGN_BILLETS)).select_related("unit"),
        pk=billet_id,
    )
    candidates = people_visible_to(actor, perm=Perm.ASSIGN_BILLETS) | people_awaiting_assignment(actor)
    person = get_in_scope_or_404(candidates.select_for_update(), pk=person_id)
    if person.status not in ASSIGNABLE:
        raise UnitsError(_("Only a trained or serving person can be assigned to a billet."))
    if person.legion != billet.unit.legion:
        raise UnitsError(_("Legions are kept apart: assign people only to units of their own legion."))
    if Assignment.objects.filter(billet=billet, ended_on__isnull=True).exists():
        raise UnitsError(_("This billet is already filled; choose a vacant one."))
    return person, billet


def _vacancy(billet_ids: list[int]) -> None:
    """Sets ``Billet.vacant`` of these billets from their open assignments (one UPDATE); every
    service that starts or ends an assignment calls it in the same transaction."""
    if billet_ids:
        held = Assignment.objects.filter(billet=OuterRef("pk"), ended_on__isnull=True)
        Billet.objects.filter(pk__in=billet_ids).update(vacant=~Exists(held))


def _assign(
    *, actor: Staff, person: Person, billet: Billet, on: date, override: OverrideRequest | None, approver: Staff | None
) -> Assignment:
    previous = Assignment.objects.filter(person=person, is_latest=True).first()
    if previous is not None:
        Assignment.objects.filter(pk=previous.pk).update(is_latest=False, ended_on=previous.ended_on or on)
    try:
        with transaction.atomic():
            assignment = Assignment.objects.create(
                person=person,
                billet=billet,
                started_on=on,
                assigned_by=override.requested_by if override else actor,
                override_reason=override.reason if override else "",
                override_approved_by=approver,
                missing_qualifications=override.missing_qualifications if override else [],
                created_at=timezone.now(),
            )
    except IntegrityError:
        raise UnitsError(_("This billet was filled a moment ago; choose a vacant one.")) from None
    _vacancy([billet.pk] + ([previous.billet_id] if previous is not None else []))
    before = person.status
    if before != PersonStatus.ASSIGNED:
        person.status = PersonStatus.ASSIGNED
        person.save(update_fields=["status"])
    StatusChange.objects.create(
        person=person,
        from_status=before,
        to_status=PersonStatus.ASSIGNED,
        effective_on=on,
        reason=f"assigned to billet {billet.pk}",
        changed_by=actor,
        recorded_at=timezone.now(),
    )
    return assignment


def billet_assign(*, actor: Staff, person_id: str, billet_id: int, on: date | None = None) -> Assignment:
    """Assigns a person who holds every required qualification on ``on``; else ``QualificationsMissing``."""
    on = on or timezone.localdate()
    with transaction.atomic():
        person, billet = _assignable(actor, person_id, billet_id)
        missing = selectors.missing_qualifications(person_id=person.pk, billet=billet, on=on)
        if missing:
            raise QualificationsMissing(missing)
        assignment = _assign(actor=actor, person=person, billet=billet, on=on, override=None, approver=None)
        audit_record(
            actor=actor.username,
            action="units.assigned",
            subject=person.pk,
            details={"billet": billet.pk, "unit": billet.unit_id, "started_on": on.isoformat()},
        )
    return assignment


def override_request(*, actor: Staff, person_id: str, billet_id: int, reason: str) -> OverrideRequest:
    """Asks for an assignment despite missing qualifications; another staff member must approve it."""
    reason = _reason(reason)
    with transaction.atomic():
        person, billet = _assignable(actor, person_id, billet_id)
        missing = selectors.missing_qualifications(person_id=person.pk, billet=billet, on=timezone.localdate())
        if not missing:
            raise UnitsError(_("This person holds every required qualification; assign him directly."))
        request = OverrideRequest.objects.create(
            person=person,
            billet=billet,
            reason=reason,
            missing_qualifications=missing,
            requested_by=actor,
            requested_at=timezone.now(),
        )
        audit_record(
            actor=actor.username,
            action="units.override_requested",
            subject=person.pk,
            details={"request": request.pk, "billet": billet.pk, "missing": missing, "reason": reason},
        )
    return request


def override_approve(*, actor: Staff, request_id: int, on: date | None = None) -> Assignment:
    """The second staff member approves an override request: the assignment is made and recorded."""
    on = on or timezone.localdate()
    with transaction.atomic():
        request = get_in_scope_or_404(
            OverrideRequest.objects.filter(
                billet__unit__in=units_visible_to(actor, perm=Perm.MANAGE_UNITS), decided_at__isnull=True
            ).select_related("requested_by"),
            pk=request_id,
        )
        if request.requested_by_id == actor.pk:
            raise UnitsError(_("Another staff member must approve an override you asked for."))
        person, billet = _assignable(actor, request.person_id, request.billet_id)
        request.approved_by = actor
        request.decided_at = timezone.now()
        request.save(update_fields=["approved_by", "decided_at"])
        assignment = _assign(actor=actor, person=person, billet=billet, on=on, override=request, approver=actor)
        audit_record(
            actor=actor.username,
            action="units.override_approved",
            subject=person.pk,
            details={
                "request": request.pk,
                "billet": billet.pk,
                "unit": billet.unit_id,
                "requested_by": request.requested_by.username,
                "missing": list(request.missing_qualifications),
                "reason": request.reason,
            },
        )
    return assignment


# --- service status and next of kin ----------------------------------------------------------------


def person_status_change(*, actor: Staff, person_id: str, status: str, effective_on: date, reason: str) -> StatusChange:
    """Moves a serving person to ``status`` as of ``effective_on``, with a reason; audited."""
    reason = _reason(reason)
    if effective_on > timezone.localdate():
        raise UnitsError(_("A status change cannot take effect in the future; give today's date or an earlier one."))
    with transaction.atomic():
        person = get_in_scope_or_404(
            people_visible_to(actor, perm=Perm.RECORD_SERVICE_STATUS).select_for_update(), pk=person_id
        )
        allowed = STATUS_TRANSITIONS.get(person.status, frozenset())
        if status not in allowed:
            raise UnitsError(
                _("A person whose status is “%(before)s” cannot become “%(after)s”.")
                % {
                    "before": PersonStatus(person.status).label,
                    "after": PersonStatus(status).label if status in PersonStatus.values else status[:20],
                }
            )
        before = person.status
        person.status = status
        person.save(update_fields=["status"])
        if status in LEAVES_BILLET:
            leaving = Assignment.objects.filter(person=person, ended_on__isnull=True)
            left = list(leaving.values_list("billet_id", flat=True))
            leaving.update(ended_on=effective_on)
            _vacancy(left)
        change = StatusChange.objects.create(
            person=person,
            from_status=before,
            to_status=status,
            effective_on=effective_on,
            reason=reason,
            changed_by=actor,
            recorded_at=timezone.now(),
        )
        audit_record(
            actor=actor.username,
            action="units.status_changed",
            subject=person.pk,
            details={"from": before, "to": status, "effective_on": effective_on.isoformat(), "reason": reason},
        )
    return change


def next_of_kin_open(*, actor: Staff, person_id: str, reason: str) -> list[dict[str, str]]:
    """A commander's "contact next of kin": the sealed contacts, opened through ``unseal_identity``.

    Only the next-of-kin part of the identity is returned; the unseal is audited (with the reason)
    before anything is decrypted.
    """
    reason = _reason(reason)
    person = get_in_scope_or_404(people_visible_to(actor, perm=Perm.CONTACT_NEXT_OF_KIN), pk=person_id)
    identity = unseal_identity(
        person=person,
        actor=Actor(actor.username, actor),
        reason=f"next of kin: {reason}",
        perm=Perm.CONTACT_NEXT_OF_KIN,
    )
    contacts = identity.get("next_of_kin") or []
    return [{k: str(v) for k, v in c.items() if v is not None} for c in contacts if isinstance(c, dict)]


# --- exports -------------------------------------------------------------------------------------

ROSTER_COLUMNS = ["unit", "billet", "role", "call_sign", "person_id", "status", "lacking"]


def roster_export(*, actor: Staff, unit_id: int) -> tuple[str, str]:
    """The roster of a unit's subtree as CSV, by call sign only; audited with its row count."""
    unit = get_in_scope_or_404(units_visible_to(actor), pk=unit_id)
    roster = selectors.roster(staff=actor, unit=unit)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ROSTER_COLUMNS)
    for line in roster.lines:
        writer.writerow(
            [
                _cell(line.unit_name),
                line.billet_id,
                line.role,
                _cell(line.call_sign),
                line.person_id,
                line.status,
                " ".join(line.lacking),
            ]
        )
    with transaction.atomic():
        audit_record(
            actor=actor.username,
            action="units.roster_exported",
            details={"unit": unit.pk, "rows": len(roster.lines)},
        )
    return f"roster-unit-{unit.pk}.csv", out.getvalue()


def _cell(text: str) -> str:
    """Defuses spreadsheet formulas: a cell starting with = + - @ is prefixed with an apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
