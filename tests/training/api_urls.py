"""The project's URLs plus the training router on its own API, for the API tests.

The lead mounts ``legionary.training.api.router`` in the project API; these tests do not depend
on that and mount it themselves, with the same guarded API class.
"""

from django.urls import path

from legionary.api.api import GuardedNinjaAPI
from legionary.training.api import router
from legionary.urls import urlpatterns as project_urlpatterns

api = GuardedNinjaAPI(title="training API (tests)", version="test", urls_namespace="training-api-test", docs_url=None)
api.add_router("/training", router)

urlpatterns = [path("api/test/", api.urls), *project_urlpatterns]
