"""The project's URLs plus the vetting router on its own API, as the lead will mount it."""

from django.urls import path

from legionary.api.api import GuardedNinjaAPI
from legionary.urls import urlpatterns as project_urlpatterns
from legionary.vetting.api import vetting_router

api = GuardedNinjaAPI(title="vetting test API", version="test", urls_namespace="api-vetting-test", docs_url=None)
api.add_router("/vetting/", vetting_router())

urlpatterns = [path("api/test/", api.urls), *project_urlpatterns]
