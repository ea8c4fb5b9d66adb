from django.urls import path

from legionary.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.entry_list_view, name="entries"),
    path("entries/<int:index>/", views.entry_detail_view, name="entry"),
    path("checkpoints/", views.checkpoint_list_view, name="checkpoints"),
]
