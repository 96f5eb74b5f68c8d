"""Workspaces, keys and an API client for the API tests."""

from datetime import datetime

from django.test import Client

from apps.api.models import ApiKey, Workspace
from apps.api.services import api_key_create, workspace_create

ALL_SCOPES = ["read", "update", "convert"]


def workspace(team, name="Partner Sales", permissions=ALL_SCOPES) -> Workspace:
    found = Workspace.objects.filter(org=team.org, name=name).first()
    if found is not None:
        return found
    return workspace_create(org=team.org, name=name, permissions=permissions, actor=team.owner)


def workspace_key(team, *, ws=None, scopes=ALL_SCOPES, expires_at: datetime | None = None):
    ws = ws or workspace(team)
    key, raw = api_key_create(
        org=team.org, workspace=ws, scopes=scopes, actor=team.owner, expires_at=expires_at
    )
    return key, raw


def personal_key(team, user) -> tuple[ApiKey, str]:
    return api_key_create(org=team.org, user=user, scopes=["read"], actor=user)


class Api:
    """A test client speaking JSON with a Bearer key."""

    def __init__(self, raw: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw}"} if raw else {}

    def get(self, path, data=None, **headers):
        return self.client.get(path, data, headers={**self.headers, **headers})

    def post(self, path, body=None, **headers):
        return self.client.post(
            path, body or {}, content_type="application/json", headers={**self.headers, **headers}
        )

    def patch(self, path, body=None, **headers):
        return self.client.patch(
            path, body or {}, content_type="application/json", headers={**self.headers, **headers}
        )

    def call(self, method, path, body=None):
        if method == "GET":
            return self.get(path)
        return getattr(self, method.lower())(path, body)
