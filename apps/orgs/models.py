import secrets
import zoneinfo
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from apps.orgs.tenancy import OrgOwnedModel, OrgQuerySet
from attribution.kpis.display import CURRENCIES


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. The email address is the login; there are no usernames."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self):
        return self.email


def _validate_timezone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone (e.g. Europe/London).")


def _validate_currency(value):
    # Three capital letters is not enough: "DOL" would pass, and every amount would then be
    # shown and totalled in a currency that does not exist.
    if value not in CURRENCIES:
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code such as USD.")


class Organization(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[_validate_timezone])
    currency = models.CharField(max_length=3, default="USD", validators=[_validate_currency])
    # The phone region used when a number arrives without a country code.
    default_region = models.CharField(max_length=2, default="US")
    # KPIS.md "Showed": a due call with no PCF, no CRM outcome and no cancellation counts as held.
    assume_show_without_outcome = models.BooleanField(default=True)
    # An identifier value (office phone, test@test.com) seen on more people stops being used to match.
    identifier_share_limit = models.PositiveSmallIntegerField(default=3)
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def tzinfo(self):
        return zoneinfo.ZoneInfo(self.timezone)


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    CLOSER = "closer", "Closer"
    SETTER = "setter", "Setter"
    VIEWER = "viewer", "Viewer"


ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})
MANAGER_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER})
REP_ROLES = frozenset({Role.CLOSER, Role.SETTER})


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "org"], name="membership_user_org_unique")
        ]

    def __str__(self):
        return f"{self.user} · {self.org} ({self.get_role_display()})"

    @property
    def can_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGER_ROLES

    @property
    def is_rep(self) -> bool:
        return self.role in REP_ROLES

    @property
    def can_write(self) -> bool:
        return self.role != Role.VIEWER


class TeamMember(OrgOwnedModel):
    """A closer or setter on the roster, with or without a login."""

    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    is_closer = models.BooleanField(default=False)
    is_setter = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="team_members"
    )
    # {"close": "user_abc", "calendly": "https://api.calendly.com/users/..."}
    external_ids = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "org", Lower("email"), condition=~Q(email=""), name="teammember_org_email_unique"
            ),
            models.UniqueConstraint(
                fields=["org", "user"],
                condition=Q(user__isnull=False),
                name="teammember_org_user_unique",
            ),
        ]

    def __str__(self):
        roles = "/".join(
            r for r, on in (("closer", self.is_closer), ("setter", self.is_setter)) if on
        )
        return f"{self.name} ({roles or 'no role'})"


def _invitation_token() -> str:
    return secrets.token_urlsafe(32)


def _invitation_expiry():
    return timezone.now() + timedelta(days=14)


class Invitation(OrgOwnedModel):
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    token = models.CharField(max_length=64, unique=True, default=_invitation_token, editable=False)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.email} → {self.org} as {self.role}"

    @property
    def is_usable(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


class AuditLog(OrgOwnedModel):
    """Who did what to which row: written in the same transaction as every sensitive write."""

    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["org", "-created_at"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_type}#{self.target_id}"
