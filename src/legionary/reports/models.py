"""The reports rollup: the dashboard's figures pre-counted by ``legionary report refresh``.

Responsible for storing counts, never people: every row is a number of people, cases, checks or
enrolments for a key of legions, days, statuses, stages, guidelines, cohorts or units. How the rows
are made and read, and why the design is what it is, is in ``reports.rollup``.

A ``Rollup`` is one refresh. Its rows are written in many short transactions, and only a rollup
whose ``finished_at`` is set is ever read, so a refresh that fails or is interrupted half-way
leaves the previous one in use. Must never hold an identity, a call sign or a person's id.
"""

from __future__ import annotations

from django.db import models


class Rollup(models.Model):
    """One run of ``legionary report refresh``: read only once ``finished_at`` is set."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    people = models.PositiveBigIntegerField(default=0)
    seconds = models.FloatField(default=0.0)
    # The audit log's size when counting started: a larger log now means changes the rollup has
    # not counted (reports.freshness).
    log_size = models.PositiveBigIntegerField(default=0)


class Grain(models.TextChoices):
    """Period rows exist per received day and summed per month (fewer rows to read).

    The histograms of time in each stage, the largest table, are also summed over a legion's whole
    history and over all legions per month: what the page without a period reads.
    """

    DAY = "d", "day"
    MONTH = "m", "month"
    HISTORY = "h", "a legion's whole history"
    ALL_LEGIONS = "a", "all legions in a month"


class PeriodRow(models.Model):
    """Counts of the people received on one day (or in one month) in one legion."""

    rollup = models.ForeignKey(Rollup, on_delete=models.CASCADE, related_name="+", db_index=False)
    grain = models.CharField(max_length=1, choices=Grain.choices)
    # The person's legion: what the viewer's scope and the period's legion select on ("" in an
    # all-legions row).
    legion = models.CharField(max_length=32)
    # The UTC day received; the first day of the month in a month row; NULL in a history row.
    day = models.DateField(null=True, blank=True)
    month = models.CharField(max_length=7)

    class Meta:
        abstract = True


class StatusCount(PeriodRow):
    """People now in each status (the funnel is read from statuses)."""

    status = models.CharField(max_length=16)
    people = models.PositiveBigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["rollup", "grain", "day"], name="rollup_status_period")]


class StageHistogram(PeriodRow):
    """People who spent ``bucket`` tenths of a day (rounded down) in a stage they have left."""

    stage = models.CharField(max_length=16)
    bucket = models.IntegerField()
    people = models.PositiveBigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["rollup", "grain", "day"], name="rollup_stage_period")]


class FlagCount(PeriodRow):
    """Flagged cases, still unresolved, and re-applications after a denial, by the case's legion."""

    case_legion = models.CharField(max_length=32)
    flagged = models.PositiveBigIntegerField()
    unresolved = models.PositiveBigIntegerField()
    after_denial = models.PositiveBigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["rollup", "grain", "day"], name="rollup_flag_period")]


class DenialCount(PeriodRow):
    """Denied cases with a finding under one guideline, by the case's legion."""

    case_legion = models.CharField(max_length=32)
    guideline = models.CharField(max_length=1)
    cases = models.PositiveBigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["rollup", "grain", "day"], name="rollup_denial_period")]


class OpenCheckCount(models.Model):
    """Checks without a result on undecided cases, by the person's legion and the day they are due."""

    rollup = models.ForeignKey(Rollup, on_delete=models.CASCADE, related_name="+")
    legion = models.CharField(max_length=32)
    case_legion = models.CharField(max_length=32)
    check_type = models.CharField(max_length=40)
    check_name = models.CharField(max_length=120)
    due_on = models.DateField()
    checks = models.PositiveBigIntegerField()


class CohortCount(models.Model):
    """One cohort's trainees of one legion (the person's), by state; the cohort as it was then."""

    rollup = models.ForeignKey(Rollup, on_delete=models.CASCADE, related_name="+")
    legion = models.CharField(max_length=32)
    cohort_id = models.BigIntegerField()
    name = models.CharField(max_length=200)
    cohort_legion = models.CharField(max_length=32)
    course = models.CharField(max_length=40)
    start_date = models.DateField()
    weeks = models.PositiveIntegerField()
    enrolled = models.PositiveBigIntegerField()
    in_training = models.PositiveBigIntegerField()
    completed = models.PositiveBigIntegerField()


class UnitCount(models.Model):
    """Billets and filled billets in the part of a unit's subtree that lies in one legion.

    Only the units that can be among the top two levels of a legion-wide or system-wide view are
    kept. ``part_legion`` is the legion of the units counted (a legion viewer's units are his
    legions' units); billets are on rows with ``person_legion`` NULL, and the billets held by
    people of ``person_legion`` on rows with it set.
    """

    rollup = models.ForeignKey(Rollup, on_delete=models.CASCADE, related_name="+")
    unit_id = models.BigIntegerField()
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16)
    unit_legion = models.CharField(max_length=32)
    path = models.CharField(max_length=255)
    part_legion = models.CharField(max_length=32)
    # NULL marks a billets row, apart from every legion (even an empty one).
    person_legion = models.CharField(max_length=32, null=True, blank=True)  # noqa: DJ001
    billets = models.PositiveBigIntegerField(default=0)
    filled = models.PositiveBigIntegerField(default=0)
