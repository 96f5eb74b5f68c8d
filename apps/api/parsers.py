"""JSON bodies up to ``API_MAX_BODY_BYTES``: a larger one is a 413 before anything is parsed."""

import io

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "request_too_large"
    default_detail = "The request body is too large."


def check_length(request) -> None:
    limit = settings.API_MAX_BODY_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise RequestTooLarge(f"The request body is over {limit} bytes.")


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(f"The request body is over {limit} bytes.")
        return super().parse(io.BytesIO(body), media_type, parser_context)
