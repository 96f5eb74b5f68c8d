import ipaddress
import logging

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from redis.exceptions import RedisError

from apps.orgs import services
from apps.orgs.models import Invitation

logger = logging.getLogger(__name__)

SESSION_INVITATION_KEY = "invitation_token"


def client_ip(request) -> str:
    """The address a request came from, for everything that keys on it (sign-in rate limits).

    Behind ``TRUSTED_PROXY_COUNT`` proxies each appends the address it saw to X-Forwarded-For,
    so the entry that many places from the right was written by the outermost trusted proxy;
    everything left of it is whatever the client sent. With no trusted proxy the header is
    ignored, so a client cannot choose its own address.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < count:
        # The request did not pass every trusted proxy (it reached the app around them), so no
        # entry of the header was written by one of them.
        return remote
    try:
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:
        return remote


class FailOpenCache:
    """The cache allauth's rate limits use, failing open while it is unreachable.

    allauth keeps each limit's history and a lock in the default cache (Redis) and lets a
    connection error through, so with Redis down nobody could sign in (500). Losing the limits
    for the length of an outage is the lesser harm: every miss is logged as a warning.
    """

    def __init__(self, cache):
        self._cache = cache

    def _unreachable(self, operation: str, error: Exception) -> None:
        # The class name only: a connection error's text can carry the cache's address.
        logger.warning(
            "sign-in rate limits are off: the cache is unreachable (%s on %s)",
            type(error).__name__,
            operation,
        )

    def add(self, key, value, timeout=None):
        try:
            return self._cache.add(key, value, timeout=timeout)
        except (RedisError, OSError) as error:
            self._unreachable("add", error)
            return True  # the lock is "taken", so the request goes on

    def get(self, key, default=None):
        try:
            return self._cache.get(key, default)
        except (RedisError, OSError) as error:
            self._unreachable("get", error)
            return default  # no history: under the limit

    def set(self, key, value, timeout=None):
        try:
            self._cache.set(key, value, timeout=timeout)
        except (RedisError, OSError) as error:
            self._unreachable("set", error)

    def delete(self, key):
        try:
            return self._cache.delete(key)
        except (RedisError, OSError) as error:
            self._unreachable("delete", error)
            return False


def install_fail_open_rate_limits() -> None:
    # allauth reads the module's `cache` at each call; the rest of the app keeps the plain one.
    from allauth.core.internal import ratelimit

    if not hasattr(ratelimit, "cache") or not hasattr(ratelimit, "cache_lock"):
        raise RuntimeError("allauth's rate limits moved: review apps.orgs.adapters.FailOpenCache")
    if not isinstance(ratelimit.cache, FailOpenCache):
        ratelimit.cache = FailOpenCache(ratelimit.cache)


def pending_invitation(request) -> Invitation | None:
    token = request.session.get(SESSION_INVITATION_KEY)
    if not token:
        return None
    invitation = Invitation.objects.filter(token=token).select_related("org").first()
    return invitation if invitation and invitation.is_usable else None


class InvitationOnlyAdapter(DefaultAccountAdapter):
    """Nobody signs up on their own: only with a valid invitation, for the invited address."""

    def get_client_ip(self, request) -> str:
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip

    def is_open_for_signup(self, request):
        return pending_invitation(request) is not None

    def clean_email(self, email):
        email = super().clean_email(email)
        invitation = pending_invitation(self.request) if self.request else None
        if invitation is not None and invitation.email.lower() != email.lower():
            raise forms.ValidationError("Sign up with the address the invitation was sent to.")
        return email

    def pre_authenticate(self, request, **credentials):
        # allauth refuses a rate-limited sign-in here, with no signal of its own: audit it.
        try:
            super().pre_authenticate(request, **credentials)
        except forms.ValidationError:
            from apps.orgs.signals import user_for_login

            user = user_for_login(credentials)
            if user is not None:
                services.audit_lockout(user=user)
            raise

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        invitation = pending_invitation(request)
        if invitation is not None and commit:
            services.invitation_accept(invitation=invitation, user=user)
            request.session.pop(SESSION_INVITATION_KEY, None)
        return user
