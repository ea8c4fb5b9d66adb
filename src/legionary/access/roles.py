"""Roles and the permissions each one carries: the single table that says who may do what.

Deny by default: a permission not listed for a role is refused. Scopes (which legion, unit, cohort
or case a grant covers) narrow a grant further; they never widen it.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    INTAKE_OFFICER = "intake_officer", _("Intake officer")
    INVESTIGATOR = "investigator", _("Background investigator")
    POLYGRAPH_EXAMINER = "polygraph_examiner", _("Polygraph examiner")
    CI_OFFICER = "ci_officer", _("Counter-intelligence officer")
    ADJUDICATOR = "adjudicator", _("Adjudicator")
    # Decides a case on which the two adjudicators disagreed.
    SENIOR_ADJUDICATOR = "senior_adjudicator", _("Senior adjudicator")
    INSTRUCTOR = "instructor", _("Instructor")
    UNIT_COMMANDER = "unit_commander", _("Unit commander")
    SECURITY_OFFICER = "security_officer", _("Security officer")
    AUDITOR = "auditor", _("Auditor")


class ScopeKind(models.TextChoices):
    SYSTEM = "system", _("Whole system")
    LEGION = "legion", _("Legion")
    UNIT = "unit", _("Unit subtree")
    COHORT = "cohort", _("Cohort")
    CASE = "case", _("Case")


class Perm(StrEnum):
    VIEW_DASHBOARD = "view_dashboard"
    MANAGE_STAFF = "manage_staff"
    VIEW_AUDIT_LOG = "view_audit_log"
    UNSEAL_IDENTITY = "unseal_identity"
    ERASE_IDENTITY = "erase_identity"
    MANAGE_KEYS = "manage_keys"
    VIEW_INTAKE_QUEUE = "view_intake_queue"
    VIEW_CASES = "view_cases"
    RECORD_CHECK = "record_check"
    ADJUDICATE = "adjudicate"
    ADJUDICATE_SENIOR = "adjudicate_senior"
    ASSIGN_CHECKS = "assign_checks"
    ENTER_APPEAL = "enter_appeal"
    MANAGE_VETTING_POLICY = "manage_vetting_policy"
    VIEW_TRAINING = "view_training"
    GRADE = "grade"
    MANAGE_TRAINING = "manage_training"
    VIEW_UNITS = "view_units"
    MANAGE_UNITS = "manage_units"
    # Put a trained person of the unit's legion, or one already serving in scope, into a vacant
    # billet of one's units (a commander fills his own billets; moving units stays MANAGE_UNITS).
    ASSIGN_BILLETS = "assign_billets"
    VIEW_REPORTS = "view_reports"
    # Record a legionnaire's service status (active, on leave, wounded, missing, ...).
    RECORD_SERVICE_STATUS = "record_service_status"
    # Open a legionnaire's next-of-kin contacts, audited with a reason (through unseal_identity).
    CONTACT_NEXT_OF_KIN = "contact_next_of_kin"
    # Approve or refuse another staff member's break-glass opening (identity.openings, issue 21).
    APPROVE_OPENING = "approve_opening"
    # Conclude on a screening result: a designation-list hit, or a possible-tier pair of records
    # (counter-intelligence's work alone; flags of the match tier go through RECORD_CHECK).
    RESOLVE_SCREENING = "resolve_screening"


_EVERY_STAFF = frozenset({Perm.VIEW_DASHBOARD})

ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.ADMINISTRATOR: _EVERY_STAFF
    | {Perm.MANAGE_STAFF, Perm.MANAGE_UNITS, Perm.ASSIGN_BILLETS, Perm.VIEW_UNITS, Perm.VIEW_REPORTS}
    | {Perm.RECORD_SERVICE_STATUS}
    | {Perm.VIEW_TRAINING, Perm.MANAGE_TRAINING}
    | {Perm.MANAGE_VETTING_POLICY},
    Role.INTAKE_OFFICER: _EVERY_STAFF
    | {Perm.VIEW_INTAKE_QUEUE, Perm.VIEW_CASES, Perm.VIEW_REPORTS, Perm.ASSIGN_CHECKS, Perm.ENTER_APPEAL},
    Role.INVESTIGATOR: _EVERY_STAFF | {Perm.VIEW_CASES, Perm.RECORD_CHECK, Perm.UNSEAL_IDENTITY},
    Role.POLYGRAPH_EXAMINER: _EVERY_STAFF | {Perm.VIEW_CASES, Perm.RECORD_CHECK},
    Role.CI_OFFICER: _EVERY_STAFF
    | {Perm.VIEW_CASES, Perm.RECORD_CHECK, Perm.RESOLVE_SCREENING, Perm.UNSEAL_IDENTITY, Perm.VIEW_REPORTS},
    Role.ADJUDICATOR: _EVERY_STAFF | {Perm.VIEW_CASES, Perm.ADJUDICATE, Perm.VIEW_REPORTS},
    Role.SENIOR_ADJUDICATOR: _EVERY_STAFF
    | {Perm.VIEW_CASES, Perm.ADJUDICATE, Perm.ADJUDICATE_SENIOR, Perm.VIEW_REPORTS},
    Role.INSTRUCTOR: _EVERY_STAFF | {Perm.VIEW_TRAINING, Perm.GRADE},
    Role.UNIT_COMMANDER: _EVERY_STAFF
    | {Perm.VIEW_UNITS, Perm.ASSIGN_BILLETS, Perm.VIEW_REPORTS, Perm.RECORD_SERVICE_STATUS, Perm.CONTACT_NEXT_OF_KIN},
    Role.SECURITY_OFFICER: _EVERY_STAFF
    | {Perm.VIEW_AUDIT_LOG, Perm.UNSEAL_IDENTITY, Perm.ERASE_IDENTITY, Perm.MANAGE_KEYS, Perm.VIEW_REPORTS}
    | {Perm.APPROVE_OPENING},
    Role.AUDITOR: _EVERY_STAFF | {Perm.VIEW_AUDIT_LOG},
}


def permissions_of(roles: set[str]) -> frozenset[Perm]:
    result: frozenset[Perm] = frozenset()
    for role in roles:
        result |= ROLE_PERMISSIONS.get(role, frozenset())
    return result
