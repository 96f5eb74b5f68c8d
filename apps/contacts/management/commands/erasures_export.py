"""Writes the erasure list (hashes and ids, no personal data) to a file.

    python manage.py erasures_export --output /backups/erasures/erasures-latest.json

Cheap: run it often (hourly), and keep its files apart from the database dumps. Restoring a
dump, then ``erasures_reapply`` with the newest file, erases again the people erased since the
dump (README, "Backups and restore").
"""

from pathlib import Path

from django.core.management.base import BaseCommand

from apps.contacts.erasures import erasures_export


class Command(BaseCommand):
    help = "Writes every org's suppressions and erased contact ids to a JSON file."

    def add_arguments(self, parser):
        parser.add_argument("--output", required=True, type=Path, help="the JSON file to write")

    def handle(self, *args, output: Path, **options):
        counts = erasures_export(path=output)
        self.stdout.write(f"wrote {output}: {counts}")
