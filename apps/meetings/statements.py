"""Signed, expiring links to a rep's commission statement: the PCF magic link's mechanism
(apps.meetings.services.magic_link_token) under a salt of their own, so neither kind of link
opens the other's pages."""

from datetime import timedelta

from django.conf import settings
from django.urls import reverse

from apps.meetings.services import magic_link_member, magic_link_token
from apps.orgs.models import TeamMember

STATEMENT_LINK_SALT = "payments.statement-link"
DEFAULT_STATEMENT_LINK_MAX_AGE = timedelta(days=14)


def statement_link_max_age() -> timedelta:
    return getattr(settings, "STATEMENT_LINK_MAX_AGE", DEFAULT_STATEMENT_LINK_MAX_AGE)


def statement_link_url(*, member: TeamMember) -> str:
    token = magic_link_token(member=member, salt=STATEMENT_LINK_SALT)
    return reverse("rep:statement_link", kwargs={"token": token})


def statement_link_member(*, token: str) -> TeamMember:
    """The roster entry a statement token names; raises signing.BadSignature (expired
    included) or TeamMember.DoesNotExist."""
    return magic_link_member(
        token=token, salt=STATEMENT_LINK_SALT, max_age=statement_link_max_age()
    )
