from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.integrations import providers as registry
from apps.integrations.models import Credential
from apps.orgs import crypto
from apps.orgs.models import Organization, User
from apps.orgs.services import audit_log_write

# The names each provider's credentials go by (INTEGRATIONS.md; `manage.py set_credential`).
CREDENTIAL_NAMES = registry.CREDENTIAL_NAMES


# How long a replaced secret keeps verifying webhooks after a rotation.
ROTATION_GRACE = timedelta(hours=24)


class CredentialError(ValueError):
    pass


def credential_set(
    *, org: Organization, provider: str, name: str, value: str, actor: User | None
) -> Credential:
    if provider not in CREDENTIAL_NAMES:
        raise CredentialError(
            f"Unknown provider {provider!r}; one of {', '.join(CREDENTIAL_NAMES)}."
        )
    if name not in CREDENTIAL_NAMES[provider]:
        raise CredentialError(
            f"Unknown credential {name!r} for {provider}; one of "
            f"{', '.join(CREDENTIAL_NAMES[provider])}."
        )
    value = value.strip()
    if not value:
        raise CredentialError("The value is empty.")
    with transaction.atomic():
        credential, created = Credential.objects.select_for_update().get_or_create(
            org=org,
            provider=provider,
            name=name,
            defaults={
                "encrypted_value": crypto.encrypt(value),
                "hint": value[-4:],
                "updated_by": actor,
            },
        )
        if not created:
            if crypto.decrypt(credential.encrypted_value) != value:
                credential.previous_encrypted_value = credential.encrypted_value
                credential.previous_until = timezone.now() + ROTATION_GRACE
            credential.encrypted_value = crypto.encrypt(value)
            credential.hint = value[-4:]
            credential.updated_by = actor
            credential.rejected_at = None
            credential.rejection = ""
            credential.save()
        # The audit row names the credential, never its value.
        audit_log_write(
            org=org,
            actor=actor,
            action="credential.set",
            target=credential,
            provider=provider,
            name=name,
        )
    return credential


def credential_values(*, org: Organization, provider: str, name: str) -> list[str]:
    """Decrypted values for signature checks: the current one first, then during a rotation's
    grace period the one it replaced. Empty when the credential is not set."""
    credential = Credential.objects.filter(org=org, provider=provider, name=name).first()
    if credential is None:
        return []
    values = [crypto.decrypt(credential.encrypted_value)]
    if credential.previous_encrypted_value and credential.previous_until > timezone.now():
        values.append(crypto.decrypt(credential.previous_encrypted_value))
    return values


def credential_reject(*, credential: Credential, reason: str) -> None:
    """Flags a credential the provider refused; `reason` must never contain the secret."""
    credential.rejected_at = timezone.now()
    credential.rejection = reason[:255]
    credential.save(update_fields=["rejected_at", "rejection"])


def credentials_reencrypt() -> int:
    """Re-encrypts every stored secret (and a rotation's previous one) with the first key of
    FIELD_ENCRYPTION_KEY, so older keys can then be removed. Returns how many rows changed."""
    changed = 0
    with transaction.atomic():
        for credential in Credential.objects.select_for_update().order_by("pk"):
            credential.encrypted_value = crypto.rotate(credential.encrypted_value)
            if credential.previous_encrypted_value:
                credential.previous_encrypted_value = crypto.rotate(
                    credential.previous_encrypted_value
                )
            # update_fields: updated_at/updated_by describe the secret, which did not change.
            credential.save(update_fields=["encrypted_value", "previous_encrypted_value"])
            changed += 1
    return changed
