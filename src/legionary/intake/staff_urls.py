"""Staff intake routes (namespace ``intake-queue``): the queue of new applications."""

from django.urls import path

from legionary.intake import views

app_name = "intake-queue"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("assign", views.assign_many, name="assign-many"),
    path("cases/<int:case_id>/assign", views.assign, name="assign"),
]
