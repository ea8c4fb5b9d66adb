"""Training records: the curriculum as data, cohorts, the gradebook and qualifications.

The curriculum (courses, modules, assessments, qualifications) is data shipped as a fixture and
edited by administrators; nothing about it is hard-coded. Results are versioned: a correction adds
a version and keeps the old one, a retake adds an attempt; rows are never updated except to mark a
version superseded or to add a sign-off. Changes go through ``training.services`` only, which
audits each one.

People are referred to by ``Person`` (pseudonymous id and call sign); this app never touches a
sealed identity.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from legionary.identity.models import Person


class Qualification(models.Model):
    """Something a person holds after passing a module, for a while or for good."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    # Months rather than days, so that "yearly" stays on the same calendar day (see expiry_date).
    # Empty: the qualification never expires.
    validity_months = models.PositiveSmallIntegerField(
        _("valid for (months)"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(600)]
    )

    class Meta:
        ordering = ["code"]


class Course(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    weeks = models.PositiveSmallIntegerField(
        _("length (weeks)"), validators=[MinValueValidator(1), MaxValueValidator(104)]
    )
    # Below this share of recorded sessions attended, a trainee is shown as at risk of failing.
    min_attendance_percent = models.PositiveSmallIntegerField(
        _("minimum attendance (%)"), default=80, validators=[MaxValueValidator(100)]
    )
    description = models.TextField(_("description"), blank=True, default="")

    class Meta:
        ordering = ["code"]


class Module(models.Model):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="modules")
    code = models.SlugField(max_length=40)
    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    # The week a new cohort's timetable puts the module in; each cohort may move it.
    default_week = models.PositiveSmallIntegerField(_("default week"), default=1, validators=[MinValueValidator(1)])
    description = models.TextField(_("description"), blank=True, default="")
    grants = models.ManyToManyField(Qualification, blank=True, related_name="granted_by", verbose_name=_("grants"))
    requires = models.ManyToManyField(Qualification, blank=True, related_name="required_by", verbose_name=_("requires"))

    class Meta:
        ordering = ["course", "position", "code"]
        constraints = [models.UniqueConstraint(fields=["course", "code"], name="module_code_per_course")]


class AssessmentKind(models.TextChoices):
    WRITTEN = "written", _("Written")
    PRACTICAL = "practical", _("Practical")


class Assessment(models.Model):
    module = models.ForeignKey(Module, on_delete=models.PROTECT, related_name="assessments")
    code = models.SlugField(max_length=40)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=AssessmentKind.choices)
    max_score = models.PositiveSmallIntegerField(
        _("maximum score"), default=100, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    pass_mark = models.PositiveSmallIntegerField(_("pass mark"), validators=[MaxValueValidator(1000)])
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["module", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["module", "code"], name="assessment_code_per_module"),
            models.CheckConstraint(condition=Q(pass_mark__lte=F("max_score")), name="pass_mark_within_max"),
        ]


class Cohort(models.Model):
    """One intake of trainees on one course; instructors hold role grants scoped ``cohort:<id>``."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="cohorts")
    name = models.CharField(_("name"), max_length=120)
    legion = models.CharField(_("legion"), max_length=32, db_index=True)
    start_date = models.DateField(_("start date"))
    site = models.CharField(_("training site"), max_length=120)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lead instructor"),
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-start_date", "id"]
        # The cohort list, newest first, keyset-paginated on (start date, id).
        indexes = [models.Index(fields=["start_date", "id"], name="cohort_start")]


class TimetableEntry(models.Model):
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="timetable")
    module = models.ForeignKey(Module, on_delete=models.PROTECT, related_name="+")
    week = models.PositiveSmallIntegerField(_("week"), validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["week", "module__position"]
        constraints = [models.UniqueConstraint(fields=["cohort", "module"], name="module_once_per_timetable")]


class EnrolmentState(models.TextChoices):
    ACTIVE = "active", _("In training")
    COMPLETED = "completed", _("Completed")


class Enrolment(models.Model):
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="enrolments")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=EnrolmentState.choices, default=EnrolmentState.ACTIVE)
    enrolled_at = models.DateTimeField()
    completed_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cohort", "person"], name="enrolled_once_per_cohort")]
        # "Has this cohort anyone still in training": one probe per cohort on My work, not a walk over
        # every enrolment the cohort ever had.
        indexes = [models.Index(fields=["cohort", "state"], name="enrolment_cohort_state")]


class Attendance(models.Model):
    """Whether a trainee attended a module on a day; re-recording a day changes it (audited)."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="attendance")
    module = models.ForeignKey(Module, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    present = models.BooleanField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["enrolment", "module", "day"], name="attendance_once_per_day")]


class Result(models.Model):
    """One version of one attempt at one assessment.

    ``attempt`` counts retakes; ``version`` counts corrections of an attempt. Exactly one version
    of each attempt is current; superseded versions stay, with their sign-offs, as history.
    """

    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="results")
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="+")
    attempt = models.PositiveSmallIntegerField(default=1)
    version = models.PositiveSmallIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    score = models.PositiveSmallIntegerField()
    passed = models.BooleanField()
    reason = models.CharField(max_length=500, blank=True, default="")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField()
    instructor_signed_at = models.DateTimeField(null=True, blank=True)
    lead_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lead_signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["attempt", "version"]
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "assessment", "attempt", "version"], name="result_version"),
            models.UniqueConstraint(
                fields=["enrolment", "assessment", "attempt"],
                condition=Q(is_current=True),
                name="one_current_version_per_attempt",
            ),
            # The lead signs only what the instructor has signed.
            models.CheckConstraint(
                condition=Q(lead_signed_at__isnull=True) | Q(instructor_signed_at__isnull=False),
                name="lead_signs_after_instructor",
            ),
        ]
        indexes = [models.Index(fields=["enrolment", "is_current"], name="result_current")]

    @property
    def signed_off(self) -> bool:
        return self.lead_signed_at is not None


class PersonQualification(models.Model):
    """A qualification held by a person from ``granted_on``; expired from ``expires_on`` on."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    qualification = models.ForeignKey(Qualification, on_delete=models.PROTECT, related_name="holders")
    granted_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["qualification__code", "-granted_on"]
        indexes = [models.Index(fields=["expires_on"], name="qualification_expiry")]
