"""Turns a database that has gone away into a clear 503 page instead of a 500."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        except (OperationalError, InterfaceError):
            return self._unavailable()

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, (OperationalError, InterfaceError)):
            return self._unavailable()
        return None

    @staticmethod
    def _unavailable() -> HttpResponse:
        log.error("database unavailable")
        response = HttpResponse(render_to_string("error.html", {"status": 503}), status=503)
        response["Retry-After"] = "30"
        return response
