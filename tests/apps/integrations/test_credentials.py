"""Credentials at rest: a rotation grace for webhook secrets, and re-encryption under a new key."""

import io
from datetime import timedelta

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.utils import timezone

from apps.integrations.models import Credential
from apps.integrations.services import credential_set, credential_values
from apps.orgs import crypto

pytestmark = pytest.mark.django_db


def test_a_replaced_secret_keeps_verifying_for_a_day(team_a):
    org = team_a.org
    credential_set(org=org, provider="stripe", name="webhook_secret", value="whsec_old", actor=None)
    credential_set(org=org, provider="stripe", name="webhook_secret", value="whsec_new", actor=None)
    assert credential_values(org=org, provider="stripe", name="webhook_secret") == [
        "whsec_new",
        "whsec_old",
    ]
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert credential_values(org=org, provider="stripe", name="webhook_secret") == ["whsec_new"]
    # Saving the same value again is not a rotation: the old secret's grace is not reset to it.
    credential_set(org=org, provider="stripe", name="webhook_secret", value="whsec_new", actor=None)
    assert credential_values(org=org, provider="stripe", name="webhook_secret")[1] == "whsec_old"


def test_rotate_credentials_moves_every_secret_to_the_newest_key(team_a, settings):
    org = team_a.org
    old_key = settings.FIELD_ENCRYPTION_KEY.split(",")[0]
    credential_set(org=org, provider="close", name="api_key", value="api_close_1", actor=None)
    credential_set(org=org, provider="close", name="api_key", value="api_close_2", actor=None)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"
    crypto._fernet.cache_clear()
    try:
        out = io.StringIO()
        call_command("rotate_credentials", stdout=out)
        assert "Re-encrypted 1 credential" in out.getvalue()
        settings.FIELD_ENCRYPTION_KEY = new_key  # the old key is gone now
        crypto._fernet.cache_clear()
        row = Credential.objects.get(org=org, provider="close", name="api_key")
        assert crypto.decrypt(row.encrypted_value) == "api_close_2"
        assert crypto.decrypt(row.previous_encrypted_value) == "api_close_1"
        assert "api_close" not in row.encrypted_value
    finally:
        settings.FIELD_ENCRYPTION_KEY = old_key
        crypto._fernet.cache_clear()
