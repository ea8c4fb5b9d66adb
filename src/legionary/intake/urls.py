"""Public intake routes (namespace ``intake``): the application form and the status page."""

from django.urls import path

from legionary.intake import views

app_name = "intake"

urlpatterns = [
    path("apply/", views.apply, name="apply"),
    path("status/", views.status, name="status"),
]
