"""`manage.py rotate_credentials`: after putting a new key first in FIELD_ENCRYPTION_KEY."""

from django.core.management.base import BaseCommand

from apps.integrations.services import credentials_reencrypt
from apps.orgs.mfa import mfa_secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypts every stored provider and two-factor secret with the first key of FIELD_ENCRYPTION_KEY; "
        "afterwards the older keys can be removed."
    )

    def handle(self, **options):
        count = credentials_reencrypt()
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {count} credential(s) with the newest key.")
        )
        # Two-factor secrets are under the same key: left behind, they would lock people out.
        count = mfa_secrets_reencrypt()
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {count} two-factor authenticator(s) likewise.")
        )
