from django.core.management.base import BaseCommand, CommandError

from apps.marketing.services import CampaignDayImportError, campaign_days_import
from apps.orgs.models import Organization


class Command(BaseCommand):
    help = (
        "Imports campaign days (spend, impressions, clicks, platform-reported conversions) from a "
        "Meta Ads Manager or Google Ads CSV export, or the columns date,channel,campaign,spend,"
        "impressions,clicks. Nothing is imported when any line is bad."
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
                saved = campaign_days_import(org=org, file=handle)
        except OSError as exc:
            raise CommandError(f"cannot read {options['path']}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{options['path']} is not UTF-8 text") from None
        except CampaignDayImportError as exc:
            for number, message in exc.lines:
                self.stderr.write(f"line {number}: {message}")
            raise CommandError(f"{len(exc.lines)} error(s); nothing was imported.") from None
        self.stdout.write(self.style.SUCCESS(f"Imported {len(saved)} campaign day(s)."))
