from django.urls import path

from legionary.access import views

app_name = "access"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/enrol/", views.enrol_view, name="enrol"),
    path("login/enrol/qr.svg", views.enrol_qr_view, name="enrol-qr"),
    path("logout/", views.logout_view, name="logout"),
    path("step-up/", views.step_up_view, name="step-up"),
    path("work/", views.my_work_view, name="my-work"),
    path("dashboard/", views.dashboard_view, name="dashboard"),
    # Shadowed by the public landing page (intake:landing) where it is installed.
    path("", views.root_view, name="root"),
]
