"""The REST API (django-ninja): typed schemas, a generated OpenAPI document, one error format.

Public endpoints today: submit an application, check a receipt. Endpoints are thin: they read the
body with the intake parser and call intake services. Every endpoint function carries an access
mark (``public`` or ``staff_required``) and ``GuardedNinjaAPI`` copies that mark onto the URL
callbacks ninja generates, so the project's access middleware and route-walking test see them; an
endpoint without a mark stays unmarked and is refused (deny by default).

Never echo a submitted value in a response, never log a body.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI, Schema, Status
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.operation import PathView
from ninja.parser import Parser
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from legionary.access.addresses import client_address
from legionary.access.policy import ACCESS_ATTR, CsrfRefused, NotSignedIn, access_rule, public
from legionary.access.stepup import StepUpRequired
from legionary.api.problems import Problem, problem
from legionary.identity.documents import DocumentRefused
from legionary.identity.services import IdentityError
from legionary.intake import services
from legionary.intake.schema import (
    MAX_APPLICATION_BYTES,
    Application,
    ApplicationInvalid,
    FieldError,
    decode_json,
    validate_application,
)
from legionary.pagination import BadCursor
from legionary.training.api import router as training_router
from legionary.vetting.api import vetting_router


def _bad_cursor(request: HttpRequest, exc: BadCursor | type[BadCursor]) -> HttpResponse:
    return problem(400, "bad-cursor", "Bad cursor", str(exc), [FieldError("after", str(exc))])


class LimitedJsonParser(Parser):
    """Every endpoint's JSON body through the intake decoder: its size, depth and number limits, no
    duplicate keys, no NaN; whatever it refuses ninja answers 400 (a problem, through ``_http_error``)."""

    def parse_body(self, request: HttpRequest) -> Any:
        return decode_json(request.body)


# ninja's own errors (a path parameter of the wrong type, a refused role, an unknown id) in the
# API's one error format rather than ninja's ``{"detail": ...}`` or Django's HTML pages.
def _invalid_parameters(request: HttpRequest, exc: Any) -> HttpResponse:
    errors = [
        FieldError(".".join(str(part) for part in error.get("loc", ())[1:]) or "body", str(error.get("msg", "")))
        for error in exc.errors
    ]
    return problem(422, "invalid-request", "Invalid request", "Some parameters are not valid.", errors)


def _forbidden(request: HttpRequest, exc: Any) -> HttpResponse:
    return problem(403, "forbidden", "Not allowed", "Your roles do not allow this.")


def _not_found(request: HttpRequest, exc: Any) -> HttpResponse:
    return problem(404, "not-found", "Not found", "There is no such resource, or it is outside your scope.")


def _http_error(request: HttpRequest, exc: Any) -> HttpResponse:
    return problem(exc.status_code, "http-error", "Request refused", str(exc))


def _not_signed_in(request: HttpRequest, exc: Any) -> HttpResponse:
    response = problem(401, "not-signed-in", "Not signed in", "Sign in with your password and second factor first.")
    response["WWW-Authenticate"] = 'Cookie realm="legionary"'
    return response


def _step_up_required(request: HttpRequest, exc: Any) -> HttpResponse:
    minutes = settings.LEGIONARY_STEP_UP_MINUTES
    return problem(
        403,
        "step-up-required",
        "Authenticator code needed again",
        f"This call opens sealed data and your last authenticator code is {minutes} minutes old or more. "
        "Enter a current code at /step-up/ in the same session, then repeat the call.",
    )


def _csrf_refused(request: HttpRequest, exc: Any) -> HttpResponse:
    return problem(403, "csrf", "CSRF check failed", "Send the CSRF token of your session (X-CSRFToken).")


class GuardedNinjaAPI(NinjaAPI):
    """A NinjaAPI whose URL callbacks carry the access mark of the endpoint functions behind them,
    and which answers a list's malformed ``after`` cursor with a 400 problem (on every instance)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parser", LimitedJsonParser())
        super().__init__(*args, **kwargs)
        self.add_exception_handler(BadCursor, _bad_cursor)
        # Every refusal in the one error format, on every instance (the domains' test APIs too).
        self.add_exception_handler(NinjaValidationError, _invalid_parameters)
        self.add_exception_handler(NotSignedIn, _not_signed_in)
        self.add_exception_handler(CsrfRefused, _csrf_refused)
        self.add_exception_handler(StepUpRequired, _step_up_required)
        self.add_exception_handler(PermissionDenied, _forbidden)
        self.add_exception_handler(Http404, _not_found)
        self.add_exception_handler(HttpError, _http_error)

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        patterns = super()._get_urls()
        for pattern in patterns:
            if not isinstance(pattern, URLPattern):
                continue
            if pattern.name in ("openapi-json", "api-root"):
                # The OpenAPI document is public by design; the root only answers 404.
                setattr(pattern.callback, ACCESS_ATTR, "public")
                continue
            rule = _rule_of(pattern.callback)
            if rule is not None:
                setattr(pattern.callback, ACCESS_ATTR, rule)
        return patterns

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        """The generated document, corrected to say what the API really answers (found by fuzzing):
        errors are ``application/problem+json``; a staff endpoint may answer 401 (not signed in with
        both factors), 403 (role, or a write without the CSRF token) and, when it takes parameters,
        404 and 422; a list that takes a keyset cursor (``after``) answers 400 to one that is not valid."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        staff = {
            self.get_openapi_operation_id(operation)
            for _prefix, router in self._routers
            for path_view in router.path_operations.values()
            for operation in path_view.operations
            if access_rule(operation.view_func) not in (None, "public")
        }
        problem_content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path_item in schema["paths"].values():
            for operation in path_item.values():
                responses = operation["responses"]
                if operation.get("operationId") in staff:
                    responses.setdefault(401, {"description": "Not signed in with both factors."})
                    responses.setdefault(
                        403, {"description": "Not allowed for this role, or no CSRF token on a write."}
                    )
                    if operation.get("parameters") or operation.get("requestBody"):
                        responses.setdefault(404, {"description": "No such resource, or outside your scope."})
                        responses.setdefault(422, {"description": "A parameter or the body is not valid."})
                    if operation.get("requestBody"):
                        responses.setdefault(400, {"description": "The body is not JSON."})
                    if any(p.get("name") == "after" for p in operation.get("parameters", ())):
                        responses.setdefault(400, {"description": "The cursor is not valid for this list."})
                for code, response in responses.items():
                    if int(code) >= 400:
                        response["content"] = problem_content
        return schema


def _rule_of(callback: Any) -> str | None:
    """The one access rule shared by every operation behind a ninja URL callback, else None."""
    # ninja's callback is a closure over its PathView; there is no public accessor for it.
    path_views = [c.cell_contents for c in (callback.__closure__ or ()) if isinstance(c.cell_contents, PathView)]
    if len(path_views) != 1:
        return None
    rules = {access_rule(operation.view_func) for operation in path_views[0].operations}
    if len(rules) != 1 or None in rules:
        return None
    return rules.pop()


api = GuardedNinjaAPI(
    title="legionary API",
    version="1",
    description=(
        "Public intake endpoints (no sign-in) and staff endpoints (a signed-in session with both "
        "factors, CSRF token on writes). Errors are RFC 7807 problem details. No endpoint returns an "
        "identity, next of kin or a document; an endpoint that opened one would first need a recent "
        "authenticator code in its session and otherwise answer 403 with the problem type "
        "step-up-required (enter the code at /step-up/, then repeat the call)."
    ),
    urls_namespace="api-public",
    # The interactive docs page loads third-party scripts, which the CSP forbids; the JSON is enough.
    docs_url=None,
    openapi_url="/openapi.json",
)
# Staff routers: every endpoint in them is under ``staff_required``, copied onto the URL patterns.
api.add_router("/vetting/", vetting_router())
api.add_router("/training", training_router)
api.add_router("/units", "legionary.units.api.router")


class ReceiptOut(Schema):
    receipt: str = Field(description="The passphrase that lets the applicant check his status; shown only once.")


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    receipt: str = Field(min_length=1, max_length=200)


class StatusOut(Schema):
    state: services.PublicState


def _body(request: HttpRequest, max_bytes: int) -> bytes | HttpResponse:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > max_bytes:
        return problem(413, "too-large", "Body too large", f"The body may be at most {max_bytes // 1024} KiB.")
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return problem(415, "unsupported-media-type", "Send JSON", "Send the body as application/json.")
    try:
        body = request.body
    except RequestDataTooBig:
        return problem(413, "too-large", "Body too large", f"The body may be at most {max_bytes // 1024} KiB.")
    if len(body) > max_bytes:
        return problem(413, "too-large", "Body too large", f"The body may be at most {max_bytes // 1024} KiB.")
    return body


def _invalid(exc: ApplicationInvalid) -> HttpResponse:
    unparsed = all(not e.field for e in exc.errors)
    if unparsed:
        return problem(400, "malformed", "Malformed request", str(exc), exc.errors)
    return problem(422, "invalid-application", "Invalid application", "Some fields are not valid.", exc.errors)


_PROBLEMS: dict[int, Any] = {400: Problem, 409: Problem, 413: Problem, 415: Problem, 422: Problem, 429: Problem}


@api.post(
    "/applications",
    url_name="applications",
    summary="Submit an application",
    response={201: ReceiptOut, **_PROBLEMS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": Application.model_json_schema(ref_template="#/{model}")}},
        }
    },
)
@public
def applications_submit(request: HttpRequest) -> Any:
    body = _body(request, MAX_APPLICATION_BYTES)
    if isinstance(body, HttpResponse):
        return body
    try:
        application = validate_application(decode_json(body))
    except ApplicationInvalid as exc:
        return _invalid(exc)
    try:
        submission = services.application_submit(
            application=application, channel=services.Channel.API, client_address=client_address(request)
        )
    except IntegrityError:
        return problem(
            409,
            "duplicate-external-ref",
            "Already received",
            "An application with this external_ref was already received.",
            [FieldError("external_ref", "is already taken")],
        )
    except services.TooManySubmissions as exc:
        response = problem(429, "too-many-submissions", "Too many applications", str(exc))
        response["Retry-After"] = str(int(services.SUBMISSION_WINDOW.total_seconds()))
        return response
    except (IdentityError, DocumentRefused, services.IntakeError) as exc:
        return problem(422, "refused", "Application refused", str(exc))
    return Status(201, {"receipt": submission.receipt})


@api.post(
    "/applications/status",
    url_name="applications-status",
    summary="Check an application's status with its receipt",
    response={200: StatusOut, 404: Problem, **_PROBLEMS},
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": StatusIn.model_json_schema()}}}
    },
)
@public
def applications_status(request: HttpRequest) -> Any:
    body = _body(request, 4096)
    if isinstance(body, HttpResponse):
        return body
    try:
        data = decode_json(body, max_bytes=4096)
        check = StatusIn.model_validate(data)
    except ApplicationInvalid as exc:
        return _invalid(exc)
    except ValidationError:
        return problem(
            422,
            "invalid-request",
            "Invalid request",
            'Send {"receipt": "..."}.',
            [FieldError("receipt", "is required")],
        )
    try:
        state = services.receipt_status(receipt=check.receipt, client_address=client_address(request))
    except services.TooManyAttempts as exc:
        response = problem(429, "too-many-attempts", "Too many attempts", str(exc))
        response["Retry-After"] = str(int(services.RECEIPT_FAILURE_WINDOW.total_seconds()))
        return response
    if state is None:
        return problem(404, "unknown-receipt", "Unknown receipt", "No application has this receipt. Check the words.")
    return Status(200, {"state": state})
