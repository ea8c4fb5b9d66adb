"""Public intake routes (namespace ``intake``): the landing page, the form step by step, the status page."""

from django.urls import path

from legionary.intake import views

app_name = "intake"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("apply/", views.apply, name="apply"),
    path("apply/check/", views.check, name="check"),
    path("apply/sent/", views.sent, name="sent"),
    path("apply/<slug:step>/", views.step, name="step"),
    path("status/", views.status, name="status"),
]
