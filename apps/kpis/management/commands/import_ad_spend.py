from django.core.management.base import BaseCommand, CommandError

from apps.kpis.services import AdSpendImportError, ad_spend_import
from apps.orgs.models import Organization


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
        org = Organization.objects.filter(slug=options["org_slug"]).first()
        if org is None:
            raise CommandError(f"no organisation with the slug {options['org_slug']!r}")
        try:
            with open(options["path"], newline="", encoding="utf-8-sig") as handle:
                saved = ad_spend_import(org=org, file=handle)
        except OSError as exc:
            raise CommandError(f"cannot read {options['path']}: {exc.strerror}") from None
        except AdSpendImportError as exc:
            for number, message in exc.lines:
                self.stderr.write(f"line {number}: {message}")
            raise CommandError(f"{len(exc.lines)} error(s); nothing was imported.") from None
        self.stdout.write(self.style.SUCCESS(f"Imported {len(saved)} ad spend row(s)."))
