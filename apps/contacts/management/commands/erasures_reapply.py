"""Erases again, on a restored database, everyone erased after its dump was taken.

    python manage.py erasures_reapply /backups/erasures/erasures-latest.json

Run it right after the restore, before the app takes traffic. Idempotent; audited per org;
prints counts, never values.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.contacts.erasures import erasures_load, erasures_reapply


class Command(BaseCommand):
    help = "Re-applies an erasure list (from erasures_export or backup) to this database."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            data = erasures_load(file)
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from None
        counts = erasures_reapply(data=data)
        self.stdout.write(f"re-applied {file}: {counts}")
