from django.urls import path

from legionary.units import views

app_name = "units"

urlpatterns = [
    path("", views.unit_tree, name="tree"),
    path("<int:unit_id>/", views.unit_roster, name="unit"),
    path("<int:unit_id>/roster.csv", views.roster_csv, name="roster-csv"),
    path("<int:unit_id>/move", views.unit_move, name="unit-move"),
    path("<int:unit_id>/units", views.unit_add, name="unit-add"),
    path("<int:unit_id>/billets", views.billet_add, name="billet-add"),
    path("billets/<int:billet_id>/assign", views.billet_assign, name="billet-assign"),
    path("overrides/<int:override_id>/approve", views.override_approve, name="override-approve"),
    path("people/", views.people_list, name="people"),
    path("people/<str:person_id>/", views.person_record, name="person"),
    path("people/<str:person_id>/status", views.person_status, name="person-status"),
    path("people/<str:person_id>/assign", views.person_assign, name="person-assign"),
    path("people/<str:person_id>/next-of-kin", views.next_of_kin, name="next-of-kin"),
]
