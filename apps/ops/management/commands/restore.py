"""Restores a dump into an empty database, then erases again everyone erased since.

    DATABASE_URL=postgres://user@host/fresh python manage.py restore DUMP --erasures FILE

The target is DATABASE_URL, so its password stays out of the command line. FILE is the newest
erasure list (``erasures_export``), which may be younger than the dump. Migrations run between
the two, so an older dump is erased with today's schema.
"""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from apps.contacts.erasures import erasures_load, erasures_reapply
from apps.orgs.backups import BackupError, database_is_empty, database_restore


class Command(BaseCommand):
    help = "pg_restore of a backup into the empty DATABASE_URL database, then erasures_reapply."

    def add_arguments(self, parser):
        parser.add_argument("dump", type=Path)
        parser.add_argument("--erasures", required=True, type=Path, help="the erasure list")

    def handle(self, *args, dump: Path, erasures: Path, **options):
        # Read before anything is restored: a restore without its erasures must not happen.
        try:
            data = erasures_load(erasures)
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from None
        if not dump.is_file():
            raise CommandError(f"{dump} is not a file")
        try:
            if not database_is_empty():
                name = settings.DATABASES["default"]["NAME"]
                raise CommandError(f"database {name} is not empty: restore into a fresh one")
            database_restore(dump=dump)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"restored {dump}")
        # The erase service writes through this code's models: a dump older than the code needs
        # its migrations first (a no-op when the schemas match).
        call_command("migrate", interactive=False, verbosity=0)
        counts = erasures_reapply(data=data)
        self.stdout.write(f"re-applied {erasures}: {counts}")
