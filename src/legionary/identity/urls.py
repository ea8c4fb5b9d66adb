"""Break-glass openings: the requester's "held" page and the security officer's decision; the openings
monitor and its daily summary."""

from django.urls import path

from legionary.identity import monitor_views, views

app_name = "openings"

urlpatterns = [
    path("", views.requests_list, name="list"),
    path("<int:request_id>/", views.request_review, name="review"),
    path("<int:request_id>/held", views.request_held, name="held"),
    path("monitor/", monitor_views.monitor_view, name="monitor"),
    path("monitor/summary.csv", monitor_views.summary_export, {"fmt": "csv"}, name="monitor-csv"),
    path("monitor/summary.json", monitor_views.summary_export, {"fmt": "json"}, name="monitor-json"),
]
