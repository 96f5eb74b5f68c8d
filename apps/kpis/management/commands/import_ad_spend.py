from django.core.management.base import BaseCommand, CommandError

from apps.kpis.services import AdSpendImportError, ad_spend_import
from apps.orgs.models import Organization


def import_csv_file(command: BaseCommand, *, org_slug: str, path: str, importer, noun: str):
    """The org by slug, the file read as UTF-8 (a BOM allowed), ``importer(org=, file=)`` run,
    and every bad line of an ``AdSpendImportError`` (or subclass) printed with its number."""
    org = Organization.objects.filter(slug=org_slug).first()
    if org is None:
        raise CommandError(f"no organisation with the slug {org_slug!r}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            saved = importer(org=org, file=handle)
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not UTF-8 text") from None
    except AdSpendImportError as exc:
        for number, message in exc.lines:
            command.stderr.write(f"line {number}: {message}")
        raise CommandError(f"{len(exc.lines)} error(s); nothing was imported.") from None
    command.stdout.write(command.style.SUCCESS(f"Imported {len(saved)} {noun}(s)."))


class Command(BaseCommand):
    help = (
        "Imports ad spend from a CSV file with the columns date (YYYY-MM-DD) or month (YYYY-MM), "
        "source, campaign, amount and optionally currency (the organisation's; another one is "
        "refused). Nothing is imported when any line is bad."
    )

    def add_arguments(self, parser):
        parser.add_argument("org_slug")
        parser.add_argument("path")

    def handle(self, *args, **options):
        import_csv_file(
            self,
            org_slug=options["org_slug"],
            path=options["path"],
            importer=ad_spend_import,
            noun="ad spend row",
        )
