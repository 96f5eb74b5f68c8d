import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from apps.marketing.forms import default_lookback
from apps.marketing.selectors import MODEL_NAMES, VALUES, Query, attribution_report, journeys_built
from apps.marketing.services import journeys_rebuild
from apps.orgs.models import Organization


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date as YYYY-MM-DD") from None


class Command(BaseCommand):
    help = (
        "Prints the attribution page's figures for one model and period as one JSON object: "
        "model, value, start, end, total, channels and campaigns (money as decimal strings). "
        "campaigns[].roas is the credited value over spend (cash ROAS for net_cash)."
    )

    def add_arguments(self, parser):
        parser.add_argument("org_slug")
        parser.add_argument("--model", required=True, choices=MODEL_NAMES)
        parser.add_argument("--start", required=True)
        parser.add_argument("--end", required=True)
        parser.add_argument("--value", default="net_cash", choices=VALUES)
        parser.add_argument("--lookback-days", type=int, default=None)

    def handle(self, *args, **options):
        org = Organization.objects.filter(slug=options["org_slug"]).first()
        if org is None:
            raise CommandError(f"no organisation with the slug {options['org_slug']!r}")
        start, end = _day(options["start"]), _day(options["end"])
        if end < start:
            raise CommandError("--end is before --start")
        lookback = options["lookback_days"]
        if lookback is None:
            lookback = default_lookback(org)
        if lookback < 1:
            raise CommandError("--lookback-days must be 1 or more")
        if not journeys_built(org=org):
            journeys_rebuild(org=org)
        query = Query(
            start=start, end=end, model=options["model"], value=options["value"],
            lookback_days=lookback,
        )  # fmt: skip
        report = attribution_report(org=org, query=query, compute=True)
        out = {
            "model": query.model,
            "value": query.value,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "total": _money(report.total),
            "channels": [
                {
                    "channel": r.channel,
                    "credited": _money(r.credited),
                    "conversions": _number(r.conversions),
                }
                for r in report.channels
            ],
            "campaigns": [
                {
                    "channel": r.channel,
                    "campaign": r.campaign,
                    "credited": _money(r.credited),
                    "conversions": _number(r.conversions),
                    "spend": _money(r.spend),
                    "roas": _number(r.credited_roas),
                }
                for r in report.campaigns
            ],
        }
        self.stdout.write(json.dumps(out))


def _money(value) -> str:
    from decimal import Decimal

    return str(Decimal(value or 0).quantize(Decimal("0.01")))


def _number(value) -> str | None:
    if value is None:
        return None
    return format(value.normalize(), "f") if value else "0"
