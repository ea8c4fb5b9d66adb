"""Vetting cases. A case refers to its person by pseudonymous id only."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from legionary.identity.models import Person


class CaseState(models.TextChoices):
    RECEIVED = "received", _("Received")
    IN_REVIEW = "in_review", _("In review")
    AWAITING_DECISION = "awaiting_decision", _("Awaiting decision")
    APPROVED = "approved", _("Approved")
    DENIED = "denied", _("Denied")
    DEFERRED = "deferred", _("Deferred")
    APPEALED = "appealed", _("Appealed")


class Case(models.Model):
    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="case")
    legion = models.CharField(max_length=32, db_index=True)
    state = models.CharField(max_length=24, choices=CaseState.choices, default=CaseState.RECEIVED)
    assigned_to = models.ForeignKey(
        "access.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_cases"
    )
    flagged = models.BooleanField(default=False, db_index=True)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    # Optimistic lock: every state change bumps it, and a change based on a stale version fails.
    version = models.PositiveIntegerField(default=0)
    # The application's operational profile (experience, skills, languages): never identifying
    # values; the free-text motivation is sealed separately by intake.
    profile = models.JSONField(default=dict, blank=True)
    # How the application arrived: form, api or import.
    channel = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["state", "created_at"], name="case_state_created")]


class ScreeningFlag(models.Model):
    """Screening found that this case's person may be someone already known; for counter-intelligence.

    Records which blind-index kinds matched, never the values. The applicant is told nothing.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="flags")
    matched_person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    reasons = models.JSONField()
    matched_status = models.CharField(max_length=16)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
