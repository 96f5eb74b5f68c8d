"""``Authorization: Bearer <key>``: the only way into the API."""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from apps.api.services import api_key_authenticate


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            return None  # HasApiKey answers 401: no key is the same as a bad one
        if header[0].lower() != b"bearer" or len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the key as 'Authorization: Bearer <key>'.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raw = ""
        key = api_key_authenticate(raw=raw)
        if key is None:
            # One message for unknown, revoked and expired keys: nothing to learn from it.
            raise exceptions.AuthenticationFailed(
                "This API key is not valid (unknown, revoked or expired)."
            )
        return (key.user if key.is_personal else AnonymousUser(), key)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A workspace's API key, or a personal read key (atk_…).",
        }
