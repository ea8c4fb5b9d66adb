"""Training's web pages: cohorts, the gradebook, results and their history, qualifications, the curriculum.

Thin: each view reads through ``training.selectors`` and changes through ``training.services``,
and turns ``NotInScope`` into 404 and ``TrainingError`` into a message on the page. Every view
carries exactly one access decorator; scope (which cohorts) is decided by the selectors.

Must never: show or look up a name (people appear by call sign and pseudonymous id), or write a
model directly.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from legionary.access import mywork
from legionary.access.policy import request_permissions, request_staff, staff_required
from legionary.access.roles import Perm
from legionary.pagination import BadCursor
from legionary.training import forms, selectors, services
from legionary.training.filters import ME, NOBODY, CohortFilters
from legionary.training.models import Assessment, Course, Module, Qualification
from legionary.training.selectors import NotInScope


def _in_scope(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answers 404 for anything outside the staff member's cohorts (it leaks nothing about what exists)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotInScope:
            raise Http404 from None

    return wrapped


# --- cohorts -------------------------------------------------------------------------------------


@staff_required(Perm.VIEW_TRAINING)
@require_GET
def cohort_list(request: HttpRequest) -> HttpResponse:
    """The cohorts in scope, newest first, filtered by legion and lead instructor; keyset pages.

    The filters only narrow the scope; a bad one is shown at its field (400) with no rows.
    """
    form = CohortFilters(request)
    page = None
    if form.is_valid():
        lead = form.applied.get("lead", "")
        try:
            page = selectors.cohorts_page(
                staff=request_staff(request),
                after=request.GET.get("after"),
                before=request.GET.get("before"),
                legion=form.applied.get("legion", ""),
                lead=request_staff(request) if lead == ME else None,
                no_lead=lead == NOBODY,
            )
        except BadCursor:
            return HttpResponse(_("This page link is not valid; start again from the first page."), status=400)
    may_manage = Perm.MANAGE_TRAINING in request_permissions(request)
    context = {
        "page": page,
        "cohorts": page.rows if page else [],
        "cohort_base": reverse("training:cohort", args=[0]).removesuffix("0/"),
        "may_manage": may_manage,
        **form.context(page),
    }
    return render(request, "training/cohort_list.html", context, status=200 if page is not None else 400)


@staff_required(Perm.MANAGE_TRAINING)
@require_http_methods(["GET", "POST"])
@_in_scope
def cohort_new(request: HttpRequest) -> HttpResponse:
    form = forms.CohortForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        cohort = services.cohort_create(
            actor=request_staff(request),
            course_id=data["course"].pk,
            name=data["name"],
            legion=data["legion"],
            start_date=data["start_date"],
            site=data["site"],
        )
        messages.success(request, _("Cohort created."))
        return redirect("training:cohort", cohort_id=cohort.pk)
    return render(request, "training/cohort_new.html", {"form": form}, status=400 if form.errors else 200)


@staff_required(Perm.VIEW_TRAINING)
@require_GET
@_in_scope
def cohort_detail(request: HttpRequest, cohort_id: int) -> HttpResponse:
    staff = request_staff(request)
    cohort = selectors.cohort_for(staff, cohort_id)
    book = selectors.gradebook(cohort=cohort)
    may_enrol = selectors.cohorts_enrollable_by(staff).filter(pk=cohort.pk).exists()
    waiting = (
        list(
            selectors.people_to_enrol(legions=[cohort.legion]).only("id", "call_sign", "created_at")[
                : selectors.ENROL_LIST + 1
            ]
        )
        if may_enrol
        else []
    )
    context = {
        "cohort": cohort,
        "book": book,
        "instructors": selectors.cohort_instructors(cohort),
        "enrol_form": forms.EnrolForm(),
        "may_enrol": may_enrol,
        # The approved people of the cohort's legion, longest waiting first: enrolled with one button.
        "to_enrol": waiting[: selectors.ENROL_LIST],
        "to_enrol_more": len(waiting) > selectors.ENROL_LIST,
        "may_grade": selectors.cohorts_visible_to(staff, perm=Perm.GRADE).filter(pk=cohort.pk).exists(),
        "may_manage": selectors.cohorts_visible_to(staff, perm=Perm.MANAGE_TRAINING).filter(pk=cohort.pk).exists(),
    }
    return render(request, "training/cohort_detail.html", context)


@staff_required(Perm.MANAGE_TRAINING)
@require_http_methods(["GET", "POST"])
@_in_scope
def cohort_edit(request: HttpRequest, cohort_id: int) -> HttpResponse:
    staff = request_staff(request)
    cohort = selectors.cohort_for(staff, cohort_id, perm=Perm.MANAGE_TRAINING)
    initial = {"name": cohort.name, "start_date": cohort.start_date, "site": cohort.site, "lead": cohort.lead}
    form = forms.CohortEditForm(request.POST if "save-cohort" in request.POST else None, initial=initial)
    instructor_form = forms.InstructorForm(request.POST if "add-instructor" in request.POST else None)
    timetable_form = forms.TimetableForm(request.POST if "set-week" in request.POST else None)
    try:
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            services.cohort_update(
                actor=staff,
                cohort_id=cohort.pk,
                name=data["name"],
                start_date=data["start_date"],
                site=data["site"],
                lead_id=data["lead"].pk if data["lead"] else None,
            )
            messages.success(request, _("Cohort saved."))
            return redirect("training:cohort-edit", cohort_id=cohort.pk)
        if instructor_form.is_bound and instructor_form.is_valid():
            services.cohort_add_instructor(
                actor=staff, cohort_id=cohort.pk, staff_id=instructor_form.cleaned_data["instructor"].pk
            )
            messages.success(request, _("Instructor added."))
            return redirect("training:cohort-edit", cohort_id=cohort.pk)
        if timetable_form.is_bound and timetable_form.is_valid():
            data = timetable_form.cleaned_data
            services.timetable_set(actor=staff, cohort_id=cohort.pk, module_id=data["module"], week=data["week"])
            messages.success(request, _("Timetable changed."))
            return redirect("training:cohort-edit", cohort_id=cohort.pk)
    except services.TrainingError as exc:
        messages.error(request, str(exc))
    context = {
        "cohort": cohort,
        "form": form,
        "instructor_form": instructor_form,
        "timetable": selectors.module_columns(cohort),
        "instructors": selectors.cohort_instructors(cohort),
    }
    return render(request, "training/cohort_edit.html", context, status=400 if request.method == "POST" else 200)


@staff_required(Perm.VIEW_TRAINING)
@require_POST
@_in_scope
def cohort_enrol(request: HttpRequest, cohort_id: int) -> HttpResponse:
    form = forms.EnrolForm(request.POST)
    if form.is_valid():
        try:
            enrolment = services.cohort_enrol(
                actor=request_staff(request), cohort_id=cohort_id, call_sign=form.cleaned_data["call_sign"]
            )
            mywork.forget_counts(request_staff(request).pk)  # his badge of people to enrol, counted again
            messages.success(request, _("%(call_sign)s enrolled.") % {"call_sign": enrolment.person.call_sign})
        except services.TrainingError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, _("Give the call sign of the person to enrol."))
    return redirect("training:cohort", cohort_id=cohort_id)


# --- gradebook -----------------------------------------------------------------------------------


@staff_required(Perm.VIEW_TRAINING)
@require_GET
@_in_scope
def gradebook(request: HttpRequest, cohort_id: int) -> HttpResponse:
    staff = request_staff(request)
    cohort = selectors.cohort_for(staff, cohort_id)
    book = selectors.gradebook(cohort=cohort)
    may_grade = selectors.cohorts_visible_to(staff, perm=Perm.GRADE).filter(pk=cohort.pk).exists()
    # Cells link to their results, and rows to their people, by a prefix reversed once: 1,560
    # ``{% url %}`` calls cost real time.
    result_base = reverse("training:result", args=[0]).removesuffix("0/")
    person_base = reverse("training:person", args=["-"]).removesuffix("-/")
    context = {
        "cohort": cohort,
        "book": book,
        "may_grade": may_grade,
        "result_base": result_base,
        "person_base": person_base,
    }
    return render(request, "training/gradebook.html", context)


@staff_required(Perm.VIEW_TRAINING)
@require_GET
@_in_scope
def gradebook_csv(request: HttpRequest, cohort_id: int) -> HttpResponse:
    text, _rows = services.gradebook_export(actor=request_staff(request), cohort_id=cohort_id)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cohort-{cohort_id}-gradebook.csv"'
    response["Cache-Control"] = "no-store"
    return response


@staff_required(Perm.GRADE)
@require_http_methods(["GET", "POST"])
@_in_scope
def module_results(request: HttpRequest, cohort_id: int, module_id: int) -> HttpResponse:
    """The grid where an instructor enters a module's results for the whole cohort."""
    staff = request_staff(request)
    cohort = selectors.cohort_for(staff, cohort_id, perm=Perm.GRADE)
    book = selectors.gradebook(cohort=cohort, module_id=module_id)
    if not book.modules:
        raise Http404
    # Only empty cells and failed ones (a retake) take a score; anything else is corrected on its own page.
    open_cells = {
        (row.enrolment.pk, cell.assessment.pk): (row.enrolment.person.call_sign, cell.assessment)
        for row in book.rows
        for cell in row.cells
        if cell.state in ("empty", "failed") and row.enrolment.state == "active"
    }
    grid = forms.ScoreGrid()
    errors: list[str] = []
    if request.method == "POST":
        grid = forms.parse_scores(request.POST, cells=open_cells)
        if grid.stale:
            errors.append(_("A score was sent for a cell that no longer takes one; reload the page."))
        elif grid.valid and grid.scores:
            try:
                recorded = services.results_record(
                    actor=staff, cohort_id=cohort.pk, module_id=module_id, scores=grid.scores
                )
                messages.success(request, _("%(count)d results recorded.") % {"count": len(recorded)})
                return redirect("training:module-results", cohort_id=cohort.pk, module_id=module_id)
            except services.TrainingError as exc:
                errors.append(str(exc))
        elif grid.valid:
            errors.append(_("Enter at least one score."))
    failed = bool(errors or grid.errors)
    context = {
        "cohort": cohort,
        "book": book,
        "module": book.modules[0].module,
        "errors": errors,
        "field_errors": grid.errors,
        # Every value typed is sent back, the good ones too: a bad cell never costs the others.
        "values": request.POST if failed else {},
        "is_lead": cohort.lead_id == staff.pk,
    }
    return render(request, "training/module_results.html", context, status=400 if failed else 200)


@staff_required(Perm.GRADE)
@require_POST
@_in_scope
def module_sign_off(request: HttpRequest, cohort_id: int, module_id: int) -> HttpResponse:
    as_lead = request.POST.get("as") == "lead"
    try:
        count = services.results_sign_off(
            actor=request_staff(request), cohort_id=cohort_id, module_id=module_id, as_lead=as_lead
        )
        messages.success(request, _("%(count)d results signed off.") % {"count": count})
    except services.TrainingError as exc:
        messages.error(request, str(exc))
    return redirect("training:module-results", cohort_id=cohort_id, module_id=module_id)


@staff_required(Perm.GRADE)
@require_http_methods(["GET", "POST"])
@_in_scope
def module_attendance(request: HttpRequest, cohort_id: int, module_id: int) -> HttpResponse:
    staff = request_staff(request)
    cohort = selectors.cohort_for(staff, cohort_id, perm=Perm.GRADE)
    book = selectors.gradebook(cohort=cohort, module_id=module_id)
    if not book.modules:
        raise Http404
    form = forms.AttendanceDayForm(request.POST or None, initial={"day": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        present = {row.enrolment.pk: f"present-{row.enrolment.pk}" in request.POST for row in book.rows}
        try:
            changed = services.attendance_record(
                actor=staff, cohort_id=cohort.pk, module_id=module_id, day=form.cleaned_data["day"], present=present
            )
            messages.success(request, _("Attendance recorded (%(count)d changes).") % {"count": changed})
            return redirect("training:gradebook", cohort_id=cohort.pk)
        except services.TrainingError as exc:
            messages.error(request, str(exc))
    context = {"cohort": cohort, "book": book, "module": book.modules[0].module, "form": form}
    return render(request, "training/module_attendance.html", context, status=400 if form.errors else 200)


@staff_required(Perm.VIEW_TRAINING)
@require_GET
@_in_scope
def result_detail(request: HttpRequest, result_id: int) -> HttpResponse:
    staff = request_staff(request)
    result = selectors.result_for(staff, result_id)
    may_grade = selectors.cohorts_visible_to(staff, perm=Perm.GRADE).filter(pk=result.enrolment.cohort_id).exists()
    context = {
        "result": result,
        "history": selectors.result_history(result=result),
        "form": forms.CorrectionForm(initial={"score": result.score}),
        "may_grade": may_grade,
    }
    return render(request, "training/result_detail.html", context)


@staff_required(Perm.GRADE)
@require_POST
@_in_scope
def result_correct(request: HttpRequest, result_id: int) -> HttpResponse:
    staff = request_staff(request)
    result = selectors.result_for(staff, result_id, perm=Perm.GRADE)
    form = forms.CorrectionForm(request.POST)
    if form.is_valid():
        try:
            corrected = services.result_correct(
                actor=staff, result_id=result.pk, score=form.cleaned_data["score"], reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("Result corrected; the previous version is kept in the history."))
            return redirect("training:result", result_id=corrected.pk)
        except services.TrainingError as exc:
            form.add_error(None, str(exc))
    context = {
        "result": result,
        "history": selectors.result_history(result=result),
        "form": form,
        "may_grade": True,
    }
    return render(request, "training/result_detail.html", context, status=400)


@staff_required(Perm.GRADE)
@require_POST
@_in_scope
def result_sign(request: HttpRequest, result_id: int) -> HttpResponse:
    try:
        services.result_sign(
            actor=request_staff(request), result_id=result_id, as_lead=request.POST.get("as") == "lead"
        )
        messages.success(request, _("Result signed off."))
    except services.TrainingError as exc:
        messages.error(request, str(exc))
    return redirect("training:result", result_id=result_id)


# --- people and qualifications -------------------------------------------------------------------


@staff_required(Perm.VIEW_TRAINING)
@require_GET
@_in_scope
def person_record(request: HttpRequest, person_id: str) -> HttpResponse:
    staff = request_staff(request)
    person = selectors.person_for(staff, person_id)
    context = {
        "person": person,
        "qualifications": selectors.qualification_record(person=person),
        "progress": selectors.person_progress(staff=staff, person=person),
    }
    return render(request, "training/person_record.html", context)


@staff_required(Perm.VIEW_TRAINING)
@require_GET
def expiring(request: HttpRequest) -> HttpResponse:
    try:
        warnings, next_cursor = selectors.expiring_page(staff=request_staff(request), after=request.GET.get("after"))
    except BadCursor:
        return HttpResponse(_("This page link is not valid; start again from the first page."), status=400)
    context = {"warnings": warnings, "next": next_cursor, "days": selectors.EXPIRY_WARNING_DAYS}
    return render(request, "training/expiring.html", context)


# --- curriculum ----------------------------------------------------------------------------------


@staff_required(Perm.MANAGE_TRAINING)
@require_GET
def curriculum(request: HttpRequest) -> HttpResponse:
    courses = [(course, selectors.course_modules(course)) for course in Course.objects.all()]
    return render(
        request, "training/curriculum.html", {"courses": courses, "qualifications": Qualification.objects.all()}
    )


def _edit(
    request: HttpRequest,
    *,
    instance: Any,
    form_class: type[Any],
    title: str,
    save: Callable[[dict[str, Any]], object],
) -> HttpResponse:
    """One small edit page for a curriculum row: the form validates, ``save`` calls the service."""
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
            messages.success(request, _("Saved."))
            return redirect("training:curriculum")
        except services.TrainingError as exc:
            form.add_error(None, str(exc))
    return render(
        request, "training/curriculum_edit.html", {"form": form, "title": title}, status=400 if form.errors else 200
    )


def _row_or_404(model: Any, pk: int) -> Any:
    row = model.objects.filter(pk=pk).first()
    if row is None:
        raise Http404
    return row


@staff_required(Perm.MANAGE_TRAINING)
@require_http_methods(["GET", "POST"])
@_in_scope
def course_edit(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _row_or_404(Course, course_id)
    return _edit(
        request,
        instance=course,
        form_class=forms.CourseForm,
        title=_("Course %(code)s") % {"code": course.code},
        save=lambda d: services.course_update(
            actor=request_staff(request),
            course_id=course.pk,
            name=d["name"],
            weeks=d["weeks"],
            min_attendance_percent=d["min_attendance_percent"],
            description=d["description"],
        ),
    )


@staff_required(Perm.MANAGE_TRAINING)
@require_http_methods(["GET", "POST"])
@_in_scope
def module_edit(request: HttpRequest, module_id: int) -> HttpResponse:
    module = _row_or_404(Module, module_id)
    return _edit(
        request,
        instance=module,
        form_class=forms.ModuleForm,
        title=_("Module %(code)s") % {"code": module.code},
        save=lambda d: services.module_update(
            actor=request_staff(request),
            module_id=module.pk,
            name=d["name"],
            position=d["position"],
            default_week=d["default_week"],
            description=d["description"],
            grants=[q.pk for q in d["grants"]],
            requires=[q.pk for q in d["requires"]],
        ),
    )


@staff_required(Perm.MANAGE_TRAINING)
@require_http_methods(["GET", "POST"])
@_in_scope
def assessment_edit(request: HttpRequest, assessment_id: int) -> HttpResponse:
    assessment = _row_or_404(Assessment, assessment_id)
    return _edit(
        request,
        instance=assessment,
        form_class=forms.AssessmentForm,
        title=_("Assessment %(code)s") % {"code": assessment.code},
        save=lambda d: services.assessment_update(
            actor=request_staff(request),
            assessment_id=assessment.pk,
            name=d["name"],
            kind=d["kind"],
            max_score=d["max_score"],
            pass_mark=d["pass_mark"],
        ),
    )


@staff_required(Perm.MANAGE_TRAINING)
@require_http_methods(["GET", "POST"])
@_in_scope
def qualification_edit(request: HttpRequest, qualification_id: int) -> HttpResponse:
    qualification = _row_or_404(Qualification, qualification_id)
    return _edit(
        request,
        instance=qualification,
        form_class=forms.QualificationForm,
        title=_("Qualification %(code)s") % {"code": qualification.code},
        save=lambda d: services.qualification_update(
            actor=request_staff(request),
            qualification_id=qualification.pk,
            name=d["name"],
            validity_months=d["validity_months"],
        ),
    )
