"""The organisation tree, billets, assignments, service-status history and qualification overrides.

Responsible for the rows of who serves where. The tree is stored with a materialised path
(``00000001.00000007.00000012.``: each ancestor's id, zero-padded, then the unit's own), so "every
unit under X" is one indexed range query (see ``PathField`` and its ``within`` lookup) on SQLite and
PostgreSQL alike, and moving a unit rewrites its subtree's paths in one statement.

Must never: hold a name or any other plaintext identity (people are referred to by ``Person``:
pseudonymous id and call sign), or be changed except through ``units.services``, which audits
every change.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.lookups import Lookup
from django.utils.translation import gettext_lazy as _

from legionary.db import ByteOrderCharField
from legionary.identity.models import Person
from legionary.training.models import Qualification

SEGMENT_DIGITS = 8
PATH_MAX = 255


def path_segment(unit_id: int) -> str:
    return f"{unit_id:0{SEGMENT_DIGITS}d}."


def path_upper_bound(path: str) -> str:
    """The smallest string greater than every string that starts with ``path``.

    Paths hold only digits and dots; "/" is the character right after "." in byte order, so
    ``path <= p < bound`` is exactly "p starts with path" under a byte-wise (binary) collation.
    """
    return path[:-1] + "/"


class PathField(ByteOrderCharField):
    """A materialised path: zero-padded ids, each followed by a dot, compared byte by byte.

    Byte order on both databases (see ``ByteOrderCharField``): in PostgreSQL's own collation the
    order may ignore the dots, and a subtree's first rows in tree order meant walking the index from
    the first unit of the tree, filtering (migration 0003 changes existing columns).
    """


@PathField.register_lookup
class Within(Lookup):
    """``path__within=P``: the unit at P and every unit below it, as a range of the path's index
    (``P <= path < P's upper bound``, byte-wise: see ``PathField``), on SQLite and PostgreSQL alike.
    """

    lookup_name = "within"
    prepare_rhs = False

    def _prefix(self) -> str:
        prefix = self.rhs
        if not isinstance(prefix, str) or not prefix or prefix.strip("0123456789.") or not prefix.endswith("."):
            raise ValueError("path__within takes a unit path such as '00000001.00000002.'")
        return prefix

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        prefix = self._prefix()
        return f"({lhs} >= %s AND {lhs} < %s)", [*lhs_params, prefix, path_upper_bound(prefix)]


class UnitKind(models.TextChoices):
    FRAMEWORK = "framework", _("Framework")
    LEGION = "legion", _("Legion")
    BATTALION = "battalion", _("Battalion")
    COMPANY = "company", _("Company")
    PLATOON = "platoon", _("Platoon")
    TEAM = "team", _("Team")


# A unit sits only below a unit of a lower rank (a platoon under a company, never the reverse).
KIND_RANK = {kind: rank for rank, kind in enumerate(UnitKind.values)}


class Unit(models.Model):
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    kind = models.CharField(_("kind"), max_length=16, choices=UnitKind.choices)
    name = models.CharField(_("name"), max_length=120)
    # Fixed by the legion ancestor (its slug); empty only for the framework above the legions.
    legion = models.CharField(_("legion"), max_length=32, blank=True, default="", db_index=True)
    # unique=True gives the b-tree index (and, on PostgreSQL, the pattern-ops index LIKE uses).
    path = PathField(max_length=PATH_MAX, unique=True)
    overseer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="overseen_units", verbose_name=_("overseer")
    )
    commander_call_sign = models.CharField(_("legion commander (call sign)"), max_length=40, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["path"]

    @property
    def depth(self) -> int:
        return int(self.path.count(".")) - 1


class BilletRole(models.TextChoices):
    COMMANDER = "commander", _("Commander")
    RIFLEMAN = "rifleman", _("Rifleman")
    MEDIC = "medic", _("Medic")
    MORTAR_CREW = "mortar_crew", _("Mortar crew")
    UAV_OPERATOR = "uav_operator", _("UAV operator")
    SIGNALS = "signals", _("Signals")
    DRIVER = "driver", _("Driver")
    ARTILLERY_OBSERVER = "artillery_observer", _("Artillery observer")


class Billet(models.Model):
    """A position in a unit, held by at most one person at a time."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="billets")
    role = models.CharField(_("role"), max_length=24, choices=BilletRole.choices)
    title = models.CharField(_("title"), max_length=120, blank=True, default="")
    qualifications = models.ManyToManyField(
        Qualification, blank=True, related_name="billets", verbose_name=_("required qualifications")
    )
    created_at = models.DateTimeField()
    # Nobody holds it now: kept by the services that start and end assignments (``services._vacancy``)
    # and by the scale fill, so that "vacant billets" is a read of the few vacant ones through the
    # partial index below instead of an anti-join over every billet of the scope. The truth stays
    # the open ``Assignment`` (its unique constraint); this is what lists read.
    vacant = models.BooleanField(default=True, db_default=True)

    class Meta:
        ordering = ["unit", "id"]
        indexes = [models.Index(fields=["unit", "id"], condition=Q(vacant=True), name="billet_vacant")]


class Assignment(models.Model):
    """A person in a billet, from ``started_on``; ``ended_on`` set when he leaves it.

    ``is_latest`` marks a person's most recent assignment, ended or not: it decides which unit's
    commander may see him (a fallen or discharged legionnaire stays with his last unit, so that its
    commander can still reach his next of kin).
    """

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="assignments")
    billet = models.ForeignKey(Billet, on_delete=models.PROTECT, related_name="assignments")
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    is_latest = models.BooleanField(default=True)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Set when the person lacked a required qualification and a second staff member approved.
    override_reason = models.CharField(max_length=500, blank=True, default="")
    override_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    missing_qualifications = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["person"], condition=Q(is_latest=True), name="one_latest_assignment"),
            models.UniqueConstraint(
                fields=["billet"], condition=Q(ended_on__isnull=True), name="one_holder_per_billet"
            ),
            # An override names its approver; an ordinary assignment names none.
            models.CheckConstraint(
                condition=Q(override_reason="", override_approved_by__isnull=True)
                | (~Q(override_reason="") & Q(override_approved_by__isnull=False)),
                name="override_has_reason_and_approver",
            ),
        ]
        indexes = [models.Index(fields=["is_latest", "billet"], name="assignment_latest_billet")]


class OverrideRequest(models.Model):
    """A request to assign someone who lacks a required qualification; a second staff member decides."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    billet = models.ForeignKey(Billet, on_delete=models.PROTECT, related_name="override_requests")
    reason = models.CharField(max_length=500)
    missing_qualifications = models.JSONField(default=list)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        # The roster's "waiting for approval" list: the pending requests only, in their order.
        indexes = [
            models.Index(fields=["requested_at", "id"], condition=Q(decided_at__isnull=True), name="override_pending")
        ]


class StatusChange(models.Model):
    """One change of a person's service status: dated, reasoned, and by whom."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    effective_on = models.DateField()
    reason = models.CharField(max_length=500)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-effective_on", "-id"]
