from django.db import transaction

from apps.integrations import crypto
from apps.integrations.models import Credential
from apps.orgs.models import Organization, User
from apps.orgs.services import audit_log_write

# The names each provider's credentials go by (INTEGRATIONS.md; `manage.py set_credential`).
CREDENTIAL_NAMES: dict[str, tuple[str, ...]] = {
    "calendly": ("api_token", "signing_key"),
    "typeform": ("api_token", "webhook_secret"),
    "close": ("api_key", "webhook_signature_key"),
    "stripe": ("api_key", "webhook_secret"),
    "whop": ("api_key", "webhook_secret"),
}


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
            credential.encrypted_value = crypto.encrypt(value)
            credential.hint = value[-4:]
            credential.updated_by = actor
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
    """Decrypted values (one, in the normal case) for signature checks and API calls."""
    return [
        crypto.decrypt(c.encrypted_value)
        for c in Credential.objects.filter(org=org, provider=provider, name=name)
    ]
