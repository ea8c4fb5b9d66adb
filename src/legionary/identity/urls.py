"""Break-glass openings: the requester's "held" page and the security officer's decision."""

from django.urls import path

from legionary.identity import views

app_name = "openings"

urlpatterns = [
    path("", views.requests_list, name="list"),
    path("<int:request_id>/", views.request_review, name="review"),
    path("<int:request_id>/held", views.request_held, name="held"),
]
