"""One error body for every failure of the API: ``{"error": {"code", "message", "fields"}}``.

``fields`` maps a field name (dotted for nested ones, ``non_field_errors`` for the body as a
whole) to its messages; it is empty when no field is to blame.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.api.services import IdempotencyConflict

logger = logging.getLogger(__name__)

CODES = {
    400: "invalid_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
}


def error_body(status_code: int, message: str, fields=None, code: str | None = None) -> dict:
    return {
        "error": {
            "code": code or CODES.get(status_code, "error"),
            "message": message,
            "fields": fields or {},
        }
    }


def _flatten(detail, prefix="") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list) and detail and all(isinstance(d, (dict, list)) for d in detail):
        for index, value in enumerate(detail):
            out.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        items = detail if isinstance(detail, list) else [detail]
        out[prefix or "non_field_errors"] = [str(item) for item in items]
    return out


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_conflict"
    default_detail = (
        "This Idempotency-Key or external_id was used before with another request body."
    )


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, IdempotencyConflict):
        exc = Conflict()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("No such object.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("API error", exc_info=exc)
        return Response(
            error_body(500, "Something went wrong on our side; it has been logged."),
            status=500,
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        message = "The request has invalid fields." if fields else "The request is invalid."
        response.data = error_body(400, message, fields, code="invalid_request")
        return response
    detail = getattr(exc, "detail", "")
    message = str(detail) if not isinstance(detail, (dict, list)) else "The request failed."
    code = CODES.get(response.status_code)
    if isinstance(exc, Conflict):
        code = "idempotency_conflict"
    elif isinstance(exc, exceptions.ParseError):
        code = "parse_error"
    response.data = error_body(response.status_code, message, code=code)
    return response


def error_response(status_code: int, message: str, fields=None) -> JsonResponse:
    """The error body outside a DRF view (a middleware, a path that names no endpoint)."""
    return JsonResponse(error_body(status_code, message, fields), status=status_code)


@csrf_exempt  # no session is read here; a PATCH to a mistyped path gets the 404, not CSRF's 403
def not_found(request, *args, **kwargs):
    """Any /api/ path that names no endpoint: the API's 404, not the site's page."""
    return error_response(404, "No such endpoint.")


def nul_rejected(message: str) -> JsonResponse:
    """The API's answer to a NUL in the query string (settings.NUL_REJECTION_RESPONDERS)."""
    return error_response(400, message, {"query": [message]})
