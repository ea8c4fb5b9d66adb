"""Training routes, mounted under ``/training/`` (namespace ``training``)."""

from django.urls import path

from legionary.training import views

app_name = "training"

urlpatterns = [
    path("", views.cohort_list, name="cohorts"),
    path("cohorts/new", views.cohort_new, name="cohort-new"),
    path("cohorts/<int:cohort_id>/", views.cohort_detail, name="cohort"),
    path("cohorts/<int:cohort_id>/edit", views.cohort_edit, name="cohort-edit"),
    path("cohorts/<int:cohort_id>/enrol", views.cohort_enrol, name="cohort-enrol"),
    path("cohorts/<int:cohort_id>/gradebook", views.gradebook, name="gradebook"),
    path("cohorts/<int:cohort_id>/gradebook.csv", views.gradebook_csv, name="gradebook-csv"),
    path("cohorts/<int:cohort_id>/modules/<int:module_id>/results", views.module_results, name="module-results"),
    path("cohorts/<int:cohort_id>/modules/<int:module_id>/sign-off", views.module_sign_off, name="module-sign-off"),
    path(
        "cohorts/<int:cohort_id>/modules/<int:module_id>/attendance", views.module_attendance, name="module-attendance"
    ),
    path("results/<int:result_id>/", views.result_detail, name="result"),
    path("results/<int:result_id>/correct", views.result_correct, name="result-correct"),
    path("results/<int:result_id>/sign-off", views.result_sign, name="result-sign-off"),
    path("people/<str:person_id>/", views.person_record, name="person"),
    path("qualifications/expiring", views.expiring, name="expiring"),
    path("curriculum/", views.curriculum, name="curriculum"),
    path("curriculum/courses/<int:course_id>", views.course_edit, name="course-edit"),
    path("curriculum/modules/<int:module_id>", views.module_edit, name="module-edit"),
    path("curriculum/assessments/<int:assessment_id>", views.assessment_edit, name="assessment-edit"),
    path("curriculum/qualifications/<int:qualification_id>", views.qualification_edit, name="qualification-edit"),
]
