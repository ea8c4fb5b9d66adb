"""Vetting: cases, their checks, findings, decisions, appeals and the screening lists.

Responsible for the rows of the vetting process. Every row refers to a person by pseudonymous id
only; free text that may identify someone (check notes, appeal grounds) lives in
``identity.SealedRecord`` and is referenced from here. Must never hold a name, a birth date, a
document number or any other plaintext identity, and must never be changed except through
``vetting.services`` (which audits every change).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
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
    # The two adjudicators disagreed: a senior adjudicator decides.
    ESCALATED = "escalated", _("Escalated to a senior adjudicator")


DECIDED_STATES = (CaseState.APPROVED.value, CaseState.DENIED.value)
FLAGGED_OPEN = Q(flagged=True) & ~Q(state__in=DECIDED_STATES)
"""Flagged cases not yet decided: the condition of the partial index behind the queue's "flagged"
section (``selectors.flagged_open`` states it in the query)."""
TO_DECIDE = Q(state__in=[CaseState.AWAITING_DECISION.value, CaseState.APPEALED.value])
"""Cases waiting for adjudicators' votes: the condition of the partial index ``case_to_decide``."""
OPEN_CHECK = Q(result="")
"""A check not yet done: the condition of the partial index ``check_assignee_case`` (stated in the
query, values and all, by ``selectors.open_check``)."""
SCREENING_UNTAKEN = Q(opened_by="screening", result="", assigned_to__isnull=True)
"""A CI review the screening opened that nobody has taken: the condition of the partial index
``check_screening_untaken`` (stated in the query, values and all, by ``selectors.screening_untaken``)."""
POSSIBLE_OPEN = Q(possible="open") & ~Q(state__in=DECIDED_STATES)
"""Cases with a possible-tier pair nobody has concluded on, not yet decided: the CI officer's "My work"
(the condition of its partial index, stated in the query by ``selectors.possible_open``)."""


class Case(models.Model):
    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="case")
    legion = models.CharField(max_length=32, db_index=True)
    state = models.CharField(max_length=24, choices=CaseState.choices, default=CaseState.RECEIVED)
    assigned_to = models.ForeignKey(
        "access.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_cases"
    )
    flagged = models.BooleanField(default=False, db_index=True)
    # Screening's possible tier (``identity.services.possible_pairs_for``) paired the person with
    # someone on arrival: "open" while a pair waits for a counter-intelligence officer's conclusion,
    # "concluded" once the last one has one (the case stays his to see, as a flagged case does).
    # db_default: the scale fill and bulk imports insert cases with their own column lists.
    possible = models.CharField(max_length=12, blank=True, default="", db_default="")
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    # Optimistic lock: every state change bumps it, and a change based on a stale version fails.
    version = models.PositiveIntegerField(default=0)
    # The application's operational profile (experience, skills, languages): never identifying
    # values; the free-text motivation is sealed separately by intake.
    profile = models.JSONField(default=dict, blank=True)
    # How the application arrived: form, api or import.
    channel = models.CharField(max_length=16, blank=True, default="")
    # Decisions are counted per round: the first decision is round 1, each appeal opens the next.
    decision_round = models.PositiveIntegerField(default=1)
    # When the case last reached approved or denied; retention counts from here.
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "created_at"], name="case_state_created"),
            # The queue's "to decide" and "escalated" sections, oldest change first.
            models.Index(fields=["state", "updated_at"], name="case_state_updated"),
            # The queue's "flagged" section, oldest first: the open flagged cases only, so that the
            # page does not step over the (ever more) decided ones.
            models.Index(fields=["created_at", "id"], condition=FLAGGED_OPEN, name="case_flagged_open"),
            # The CI officer's possible duplicates to review, oldest first: the open ones only.
            models.Index(fields=["created_at", "id"], condition=POSSIBLE_OPEN, name="case_possible_open"),
            # The same lists for a legion-scoped viewer: the legion first, then the page's order, so
            # that a page is an index range rather than a sort of the whole legion's cases.
            models.Index(fields=["legion", "created_at", "id"], name="case_legion_created"),
            models.Index(fields=["legion", "state", "created_at"], name="case_legion_state_created"),
            models.Index(fields=["legion", "state", "updated_at"], name="case_legion_state_updated"),
            # "Assigned to me" in the case list: the cases a staff member is officer of, oldest first.
            models.Index(fields=["assigned_to", "created_at", "id"], name="case_officer_created"),
            # The adjudicator's "waiting for your decision", both states in one order (an index on the
            # state first gives two ranges, which PostgreSQL sorts whole: 35,000 cases at 1M people).
            models.Index(fields=["updated_at", "id"], condition=TO_DECIDE, name="case_to_decide"),
        ]


class FlagResolution(models.TextChoices):
    SAME_PERSON = "same_person", _("The same person")
    DIFFERENT_PEOPLE = "different_people", _("Different people")


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
    # A CI officer's conclusion: "same_person" (the two records are linked) or "different_people".
    # db_default: the scale fill and bulk imports insert flags with their own column lists.
    resolution = models.CharField(max_length=20, choices=FlagResolution.choices, blank=True, default="", db_default="")
    resolved_by = models.ForeignKey("access.Staff", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Why: may name people or places, so sealed under the flagged person's key.
    resolution_note = models.ForeignKey(
        "identity.SealedRecord", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )


class CheckResult(models.TextChoices):
    CLEAR = "clear", _("Clear")
    CONCERN = "concern", _("Concern")
    DISQUALIFYING = "disqualifying", _("Disqualifying")
    COULD_NOT_COMPLETE = "could_not_complete", _("Could not complete")


ADVERSE_RESULTS = (CheckResult.CONCERN, CheckResult.DISQUALIFYING)


class PolygraphOutcome(models.TextChoices):
    NDI = "no_deception_indicated", _("No deception indicated")
    DI = "deception_indicated", _("Deception indicated")
    INCONCLUSIVE = "inconclusive", _("Inconclusive")
    REFUSED = "refused", _("Refused")


class CiReview(models.TextChoices):
    WHEN_FLAGGED = "when_flagged", _("Only when screening flagged the case")
    ALWAYS = "always", _("Always")


class CheckType(models.Model):
    """One kind of check from the catalogue (``fixtures/checks.json``): data, not code."""

    slug = models.SlugField(primary_key=True, max_length=40)
    name = models.CharField(max_length=120)
    # The role whose members perform this check (an ``access.roles.Role`` value).
    role = models.CharField(max_length=32)
    due_days = models.PositiveIntegerField(default=14)
    is_polygraph = models.BooleanField(default=False)
    is_ci_review = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.slug


class LegionCheckPolicy(models.Model):
    """Which checks a legion requires, in order; ``legion="*"`` is the default for the others."""

    legion = models.CharField(max_length=32, unique=True)
    ci_review = models.CharField(max_length=16, choices=CiReview.choices, default=CiReview.WHEN_FLAGGED)
    # Days after a denial before the denied person's sealed identity is erased (indexes stay).
    retention_days = models.PositiveIntegerField(default=730)
    updated_at = models.DateTimeField()


class PolicyCheck(models.Model):
    policy = models.ForeignKey(LegionCheckPolicy, on_delete=models.CASCADE, related_name="checks")
    check_type = models.ForeignKey(CheckType, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["policy", "check_type"], name="policy_check_once")]


class ScreeningList(models.Model):
    """A designation or sanctions list loaded from a FollowTheMoney export. Public data."""

    name = models.CharField(max_length=200, unique=True)
    loaded_at = models.DateTimeField()
    entries_count = models.PositiveIntegerField(default=0)


class ScreeningEntry(models.Model):
    """One listed person: the list's own id and caption (public), and blind-index tokens only."""

    screening_list = models.ForeignKey(ScreeningList, on_delete=models.CASCADE, related_name="entries")
    entry_id = models.CharField(max_length=200)
    caption = models.CharField(max_length=300)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["screening_list", "entry_id"], name="screening_entry_once")]


class ScreeningToken(models.Model):
    """A keyed, truncated HMAC of one normalised value of a list entry, comparable with ``BlindIndex``."""

    entry = models.ForeignKey(ScreeningEntry, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=32)
    key_version = models.PositiveIntegerField()
    value = models.BinaryField(max_length=32)

    class Meta:
        indexes = [models.Index(fields=["name", "key_version", "value"], name="screening_token_lookup")]


class HitVia(models.TextChoices):
    APPLICANT = "applicant", _("Applicant")
    NEXT_OF_KIN = "next_of_kin", _("Next of kin")


class HitStrength(models.TextChoices):
    MATCH = "match", _("Match")
    POSSIBLE = "possible", _("Possible")


class HitState(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class ScreeningHit(models.Model):
    """A person (or one of his next of kin) agrees with a listed person in the blind indexes.

    Found on arrival, at the start of vetting, or when a list is loaded (everyone, whatever the
    state of his case); for counter-intelligence only. Holds ids and labels, never a value.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="screening_hits")
    entry = models.ForeignKey(ScreeningEntry, on_delete=models.CASCADE, related_name="hits")
    via = models.CharField(max_length=16, choices=HitVia.choices)
    strength = models.CharField(max_length=16, choices=HitStrength.choices)
    state = models.CharField(max_length=16, choices=HitState.choices, default=HitState.OPEN)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey("access.Staff", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "entry", "via"], name="screening_hit_once")]
        indexes = [models.Index(fields=["state", "created_at"], name="screening_hit_state")]


class Check(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="checks")
    check_type = models.ForeignKey(CheckType, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()
    assigned_to = models.ForeignKey(
        "access.Staff", null=True, blank=True, on_delete=models.PROTECT, related_name="vetting_checks"
    )
    due_on = models.DateField()
    result = models.CharField(max_length=24, choices=CheckResult.choices, blank=True, default="")
    completed_by = models.ForeignKey("access.Staff", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    # Notes may name people or places: sealed under the person's key, gone when he is erased.
    note = models.ForeignKey(
        "identity.SealedRecord", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Why the check exists: "policy", "flagged" (screening found a duplicate) or "screening" (a list hit).
    opened_by = models.CharField(max_length=16, default="policy")
    screening_entry = models.ForeignKey(
        ScreeningEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="checks"
    )
    # Polygraph only.
    examiner = models.ForeignKey("access.Staff", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    examined_on = models.DateField(null=True, blank=True)
    question_areas = models.JSONField(default=list, blank=True)
    polygraph_outcome = models.CharField(max_length=24, choices=PolygraphOutcome.choices, blank=True, default="")
    created_at = models.DateTimeField()
    # The case's own ``created_at`` (which never changes), copied so that an assignee's open checks
    # can be read in the case list's order ("assigned to me", oldest case first) from one index,
    # a page at a time, instead of walking every older case. Set with the check; null only on
    # checks closed before the column existed (migration 0007 copied it onto the open ones).
    case_created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            # "My checks" on the queue: a staff member's open checks, soonest due first.
            models.Index(fields=["assigned_to", "result", "due_on"], name="check_assignee_open"),
            # "Assigned to me" in the case list: a staff member's open checks in their cases' order.
            models.Index(
                fields=["assigned_to", "case_created_at", "case"], condition=OPEN_CHECK, name="check_assignee_case"
            ),
            # "With an overdue check" in the case list: every open check in its case's order. The
            # due date's test in its condition keeps the index to the queries that name a due date
            # (a late one implies it), so "assigned to me" keeps its own index.
            models.Index(
                fields=["case_created_at", "case", "due_on"],
                condition=OPEN_CHECK & Q(due_on__isnull=False),
                name="check_open_case",
            ),
            # The CI officer's "screening hits nobody has taken", oldest first.
            models.Index(fields=["created_at", "id"], condition=SCREENING_UNTAKEN, name="check_screening_untaken"),
        ]

    @property
    def is_done(self) -> bool:
        return bool(self.result)


class Severity(models.TextChoices):
    MINOR = "minor", _("Minor")
    MODERATE = "moderate", _("Moderate")
    SERIOUS = "serious", _("Serious")


class Finding(models.Model):
    """A finding against one SEAD 4 guideline (``vetting.guidelines``)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="findings")
    guideline = models.CharField(max_length=1)
    disqualifying_condition = models.TextField()
    mitigating_conditions = models.TextField(blank=True, default="")
    severity = models.CharField(max_length=12, choices=Severity.choices)
    # The check the finding comes from, if any; a finding from the polygraph alone cannot carry a denial.
    source_check = models.ForeignKey(Check, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings")
    recorded_by = models.ForeignKey("access.Staff", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()


class Outcome(models.TextChoices):
    APPROVE = "approve", _("Approve")
    DENY = "deny", _("Deny")
    DEFER = "defer", _("Defer (ask for more)")


class Decision(models.Model):
    """One adjudicator's vote in one round. Seats 1 and 2 are the pair; seat 3 is the senior adjudicator.

    The unique constraints are the last line of the two-person rule: one vote per adjudicator per
    round, and one vote per seat, so two concurrent "second" votes cannot both be stored.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="decisions")
    round = models.PositiveIntegerField()
    seat = models.PositiveSmallIntegerField()
    adjudicator = models.ForeignKey("access.Staff", on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    rationale = models.TextField()
    # Whole-person concept: factor key (``vetting.guidelines.WHOLE_PERSON_FACTORS``) → assessment.
    factors = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["round", "seat"]
        constraints = [
            models.UniqueConstraint(fields=["case", "round", "seat"], name="decision_seat_once"),
            models.UniqueConstraint(fields=["case", "round", "adjudicator"], name="decision_adjudicator_once"),
        ]


class Appeal(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="appeals")
    # The round the appeal opens.
    round = models.PositiveIntegerField()
    # The applicant's grounds may identify people: sealed.
    grounds = models.ForeignKey(
        "identity.SealedRecord", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entered_by = models.ForeignKey("access.Staff", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
