"""Scopes: a view names the one it needs (``required_scope``); reads need ``read``."""

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from apps.api.models import ApiKey, Scope


class HasApiKey(BasePermission):
    def has_permission(self, request, view):
        key = request.auth
        if not isinstance(key, ApiKey):
            raise exceptions.NotAuthenticated("Send an API key as 'Authorization: Bearer <key>'.")
        scope = getattr(view, "required_scope", None) or (
            Scope.READ if request.method in SAFE_METHODS else None
        )
        if scope is None or scope not in key.scopes:
            raise exceptions.PermissionDenied(
                f"This key lacks the {scope or 'needed'!s} scope."
                if scope
                else "This endpoint takes no writes."
            )
        return True
