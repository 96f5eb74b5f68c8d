from django.core.management.base import BaseCommand

from apps.kpis.management.commands.import_ad_spend import import_csv_file
from apps.marketing.services import campaign_days_import


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
        import_csv_file(
            self,
            org_slug=options["org_slug"],
            path=options["path"],
            importer=campaign_days_import,
            noun="campaign day",
        )
