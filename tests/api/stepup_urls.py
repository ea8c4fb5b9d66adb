"""The project's URLs plus a test API with one operation that opens sealed data the way an API
opening would have to (``access.stepup.require_for_api`` before anything else): no API operation
opens an identity today, and this proves the answer one would give when a step-up is due."""

from typing import Any

from django.http import HttpRequest
from django.urls import path

from legionary.access.policy import staff_required
from legionary.access.roles import Perm
from legionary.access.stepup import require_for_api
from legionary.api.api import GuardedNinjaAPI
from legionary.urls import urlpatterns as project_urlpatterns

api = GuardedNinjaAPI(title="step-up test API", version="test", urls_namespace="api-stepup-test", docs_url=None)


@api.get("/opening", url_name="stepup-opening")
@staff_required(Perm.UNSEAL_IDENTITY)
def opening(request: HttpRequest) -> Any:
    require_for_api(request)
    return {"opened": True}


urlpatterns = [path("api/test/", api.urls), *project_urlpatterns]
