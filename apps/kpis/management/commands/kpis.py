import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from apps.kpis.selectors import kpi_summary
from apps.orgs.models import Organization, TeamMember


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date as YYYY-MM-DD") from None


class Command(BaseCommand):
    help = "Prints the summary.json of an org for a period (end date inclusive)."

    def add_arguments(self, parser):
        parser.add_argument("org_slug")
        parser.add_argument("--start", required=True, type=_date)
        parser.add_argument("--end", required=True, type=_date)
        parser.add_argument("--closer", help="the closer's email")
        parser.add_argument("--setter", help="the setter's email")
        parser.add_argument("--source")
        parser.add_argument("--campaign")

    def handle(self, *args, **options):
        org = Organization.objects.filter(slug=options["org_slug"]).first()
        if org is None:
            raise CommandError(f"no organisation with the slug {options['org_slug']!r}")
        if options["end"] < options["start"]:
            raise CommandError("--end is before --start")
        people = {}
        for role in ("closer", "setter"):
            email = options[role]
            people[role] = None
            if email:
                people[role] = TeamMember.objects.filter(org=org, email__iexact=email).first()
                if people[role] is None:
                    raise CommandError(f"no {role} with the email {email!r} in {org.slug}")
        summary = kpi_summary(
            org=org,
            start=options["start"],
            end=options["end"],
            closer=people["closer"],
            setter=people["setter"],
            source=options["source"],
            campaign=options["campaign"],
        )
        self.stdout.write(json.dumps(summary, indent=2))
