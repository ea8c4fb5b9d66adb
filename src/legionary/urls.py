from django.urls import include, path
from django.views.i18n import set_language

from legionary import views
from legionary.access.policy import public
from legionary.api.api import api

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path(".well-known/security.txt", views.security_txt, name="security-txt"),
    path("i18n/setlang/", public(set_language), name="set_language"),
    path("language/<str:code>/", views.switch_language, name="switch-language"),
    path("", include("legionary.intake.urls")),
    path("intake/", include("legionary.intake.staff_urls")),
    path("cases/", include("legionary.vetting.urls")),
    path("training/", include("legionary.training.urls")),
    path("units/", include("legionary.units.urls")),
    path("reports/", include("legionary.reports.urls")),
    path("api/v1/", api.urls),
    path("audit/", include("legionary.audit.urls")),
    path("openings/", include("legionary.identity.urls")),
    path("", include("legionary.access.urls")),
]

handler400 = "legionary.views.bad_request"
handler403 = "legionary.views.permission_denied"
handler404 = "legionary.views.page_not_found"
handler500 = "legionary.views.server_error"
