"""Vetting routes (namespace ``vetting``), mounted under ``/cases/``."""

from django.urls import path

from legionary.vetting import views

app_name = "vetting"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("all/", views.cases, name="cases"),
    path("<int:case_id>/", views.case_detail, name="case"),
    path("<int:case_id>/start", views.case_start, name="start"),
    path("<int:case_id>/checks/assign", views.checks_assign, name="checks-assign"),
    path("<int:case_id>/checks/<int:check_id>/assign", views.check_assign, name="check-assign"),
    path("<int:case_id>/checks/<int:check_id>/record", views.check_record, name="check-record"),
    path("<int:case_id>/findings", views.finding_add, name="finding-add"),
    path("<int:case_id>/decide", views.decide, name="decide"),
    path("<int:case_id>/appeal", views.appeal, name="appeal"),
    path("<int:case_id>/unseal", views.unseal, name="unseal"),
    path("<int:case_id>/documents", views.documents_view, name="documents"),
    path(
        "<int:case_id>/documents/<slug:document_id>/<int:opening>/<int:page>.png",
        views.document_page,
        name="document-page",
    ),
    path("<int:case_id>/next-of-kin", views.next_of_kin, name="next-of-kin"),
    path("<int:case_id>/flags/<int:flag_id>/resolve", views.flag_resolve, name="flag-resolve"),
    path("<int:case_id>/possible/<str:other_id>/resolve", views.possible_resolve, name="possible-resolve"),
    path("<int:case_id>/hits/<int:hit_id>/resolve", views.hit_resolve, name="hit-resolve"),
]
