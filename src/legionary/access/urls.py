from django.urls import path

from legionary.access import views

app_name = "access"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/enrol/", views.enrol_view, name="enrol"),
    path("login/enrol/qr.svg", views.enrol_qr_view, name="enrol-qr"),
    path("logout/", views.logout_view, name="logout"),
    path("staff/", views.dashboard_view, name="dashboard"),
]
