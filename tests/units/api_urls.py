"""The project's URLs with the units router mounted where the project API will mount it, for the tests.

The lead mounts ``legionary.units.api.router`` in the project API (``/api/v1/units``); until then
these tests mount it themselves, in front of the project's patterns, with the same guarded API class.
"""

from django.urls import path

from legionary.api.api import GuardedNinjaAPI
from legionary.units.api import router
from legionary.urls import urlpatterns as project_urlpatterns

api = GuardedNinjaAPI(title="units API (tests)", version="test", urls_namespace="units-api-test", docs_url=None)
api.add_router("/units", router)

urlpatterns = [path("api/v1/", api.urls), *project_urlpatterns]
