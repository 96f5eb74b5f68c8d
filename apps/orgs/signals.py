"""Audit rows for account events: sign-ins, failures, password, email and MFA changes.

allauth's signals where it has one; Django's ``user_login_failed`` for a wrong password (allauth
sends none). Rows name the user by id, never by email, and never carry a code or a secret.
"""

from allauth.account import signals as account_signals
from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa import signals as mfa_signals
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from apps.orgs.mfa import DEVICE_TYPES, session_mark_mfa_verified
from apps.orgs.models import User
from apps.orgs.services import audit_user_event


def user_for_login(credentials: dict) -> User | None:
    email = (credentials.get("email") or credentials.get("username") or "").strip()
    if not email:
        return None
    return User.objects.filter(email__iexact=email).first()


@receiver(account_signals.user_logged_in)
def _signed_in(sender, request, user, **kwargs):
    methods = sorted({r.get("method", "") for r in get_authentication_records(request, user)})
    audit_user_event(user=user, action="auth.login", actor=user, methods=methods)


@receiver(user_login_failed)
def _wrong_password(sender, credentials, request=None, **kwargs):
    # An address nobody uses belongs to no org, so there is nobody to show the row to.
    user = user_for_login(credentials)
    if user is not None:
        audit_user_event(user=user, action="auth.login_failed", method="password")


@receiver(mfa_signals.authentication_failed)
def _wrong_code(sender, request, user, authenticator=None, **kwargs):
    audit_user_event(
        user=user,
        action="auth.login_failed",
        method="mfa",
        reauthentication=bool(kwargs.get("reauthentication")),
    )


@receiver(account_signals.password_changed)
def _password_changed(sender, request, user, **kwargs):
    audit_user_event(user=user, action="auth.password_change", actor=user)


@receiver(account_signals.password_set)
def _password_set(sender, request, user, **kwargs):
    audit_user_event(user=user, action="auth.password_set", actor=user)


@receiver(account_signals.password_reset)
def _password_reset(sender, request, user, **kwargs):
    audit_user_event(user=user, action="auth.password_reset", actor=user)


@receiver(account_signals.email_changed)
def _email_changed(sender, request, user, from_email_address, to_email_address, **kwargs):
    audit_user_event(user=user, action="auth.email_change", actor=user)


@receiver(account_signals.email_added)
def _email_added(sender, request, user, email_address, **kwargs):
    audit_user_event(user=user, action="auth.email_add", actor=user)


@receiver(account_signals.email_removed)
def _email_removed(sender, request, user, email_address, **kwargs):
    audit_user_event(user=user, action="auth.email_remove", actor=user)


@receiver(mfa_signals.authenticator_added)
def _mfa_added(sender, request, user, authenticator, **kwargs):
    audit_user_event(user=user, action="mfa.add", actor=user, type=authenticator.type)
    # Setting a device up takes a valid code from it: the session has proven the second factor.
    if authenticator.type in DEVICE_TYPES and request is not None:
        session_mark_mfa_verified(request, authenticator)


@receiver(mfa_signals.authenticator_removed)
def _mfa_removed(sender, request, user, authenticator, **kwargs):
    # allauth's own pages: the user deactivating their own device (an admin's reset goes
    # through services.mfa_reset).
    audit_user_event(user=user, action="mfa.remove", actor=user, type=authenticator.type)


@receiver(mfa_signals.authenticator_reset)
def _mfa_reset_codes(sender, request, user, authenticator, **kwargs):
    audit_user_event(user=user, action="mfa.recovery_codes_regenerate", actor=user)
