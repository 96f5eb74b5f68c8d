"""A database dump, and beside it the erasure list as it stands once the dump is done.

    python manage.py backup --output /backups

writes ``attribution-<UTC time>.dump`` (pg_dump's custom format) and
``erasures-<UTC time>.json`` (hashes and ids only). Restore with ``manage.py restore`` (README,
"Backups and restore").
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.contacts.erasures import erasures_export
from apps.orgs.backups import BackupError, database_dump


class Command(BaseCommand):
    help = "Dumps the database (pg_dump, custom format) and exports the erasure list beside it."

    def add_arguments(self, parser):
        parser.add_argument("--output", required=True, type=Path, help="the directory to write")

    def handle(self, *args, output: Path, **options):
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        output.mkdir(parents=True, exist_ok=True)
        dump = output / f"attribution-{stamp}.dump"
        try:
            database_dump(path=dump)
        except BackupError as error:
            raise CommandError(str(error)) from None
        # After the dump, not before: a person erased while pg_dump ran is then in the list,
        # and re-applying an erasure the dump already holds changes nothing.
        erasures = output / f"erasures-{stamp}.json"
        counts = erasures_export(path=erasures)
        self.stdout.write(f"wrote {dump} ({dump.stat().st_size} bytes) and {erasures}: {counts}")
