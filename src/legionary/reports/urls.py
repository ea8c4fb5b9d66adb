from django.urls import path

from legionary.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("summary.pdf", views.summary_pdf, name="summary-pdf"),
    path("tables/<slug:table_id>.<slug:fmt>", views.table_export, name="table-export"),
    path("people/", views.people, name="people"),
    path("people.<slug:fmt>", views.people_export, name="people-export"),
]
