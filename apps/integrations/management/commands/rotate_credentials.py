"""`manage.py rotate_credentials`: after putting a new key first in FIELD_ENCRYPTION_KEY."""

from django.core.management.base import BaseCommand

from apps.integrations.services import credentials_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypts every stored provider secret with the first key of FIELD_ENCRYPTION_KEY; "
        "afterwards the older keys can be removed."
    )

    def handle(self, **options):
        count = credentials_reencrypt()
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {count} credential(s) with the newest key.")
        )
