"""Two-factor authentication: who must use it, where, and how its secrets are stored.

allauth.mfa does the TOTP and recovery-code work (setup pages, the code step at sign-in). This
module adds the product's rule, in one place: owners, admins (``MFA_REQUIRED_ROLES``) and
platform superusers reach the pages named in ``MFA_REQUIRED_URLS`` only with a second factor,
proven in the current session.
"""

from urllib.parse import quote

from allauth.account.internal.flows.login import get_authentication_records, record_authentication
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse

from apps.orgs import crypto
from apps.orgs.models import Membership, User

# Recovery codes only back up a device: on their own they do not count as having set up MFA.
DEVICE_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


class EncryptedMFAAdapter(DefaultMFAAdapter):
    """TOTP secrets and recovery-code seeds encrypted at rest with FIELD_ENCRYPTION_KEY, like
    provider secrets (allauth's default stores them in the clear)."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)


# Where each type keeps its encrypted value (allauth's layout of Authenticator.data).
_ENCRYPTED_KEYS = {Authenticator.Type.TOTP: "secret", Authenticator.Type.RECOVERY_CODES: "seed"}


def mfa_secrets_reencrypt() -> int:
    """Re-encrypts every TOTP secret and recovery-code seed with the first key of
    FIELD_ENCRYPTION_KEY (``rotate_credentials``), so older keys can be removed without locking
    anyone out. Returns how many authenticators changed."""
    changed = 0
    with transaction.atomic():
        rows = Authenticator.objects.select_for_update().filter(type__in=_ENCRYPTED_KEYS)
        for authenticator in rows.order_by("pk"):
            key = _ENCRYPTED_KEYS[authenticator.type]
            if key not in authenticator.data:
                continue
            authenticator.data[key] = crypto.rotate(authenticator.data[key])
            authenticator.save(update_fields=["data"])
            changed += 1
    return changed


def mfa_required(user: User) -> bool:
    """Whether ``user`` must use a second factor on the protected pages."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    # Any org counts, not only the current one: Django admin spans every org the user administers.
    return Membership.objects.filter(user=user, role__in=settings.MFA_REQUIRED_ROLES).exists()


def mfa_device_registered(user: User) -> bool:
    return Authenticator.objects.filter(user=user, type__in=DEVICE_TYPES).exists()


def session_mfa_verified(request, user: User) -> bool:
    """True once this session has seen a code from one of the user's devices (at sign-in,
    reauthentication, or while setting the device up)."""
    return any(
        record.get("method") == "mfa" for record in get_authentication_records(request, user)
    )


def session_mark_mfa_verified(request, authenticator: Authenticator) -> None:
    record_authentication(
        request, authenticator.user, "mfa", id=authenticator.pk, type=authenticator.type
    )


def _protected(match) -> bool:
    urls = settings.MFA_REQUIRED_URLS
    return match.namespace in urls or f"{match.namespace}:{match.url_name}" in urls


class MFARequiredMiddleware:
    """Sends a user who must use MFA to its setup (no device yet) or to the code step (a device,
    but this session never proved it) before a protected page runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or not _protected(match):
            return None
        user = request.user
        if not mfa_required(user):
            return None
        if not mfa_device_registered(user):
            messages.warning(
                request,
                "Your role needs two-factor authentication. Set up an authenticator app to "
                "open that page.",
            )
            return redirect("mfa_activate_totp")
        if not session_mfa_verified(request, user):
            return redirect(
                f"{reverse('mfa_reauthenticate')}?next={quote(request.get_full_path())}"
            )
        return None
