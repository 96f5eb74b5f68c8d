from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.orgs.services import organization_create


class Command(BaseCommand):
    help = "Creates an organisation (idempotent: an existing slug is left as it is)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument("--currency", default="USD")
        parser.add_argument("--owner-email")

    def handle(self, slug, name, timezone, currency, owner_email, **options):
        try:
            org, created = organization_create(
                slug=slug,
                name=name,
                timezone_name=timezone,
                currency=currency.upper(),
                owner_email=owner_email,
            )
        except ValidationError as exc:
            messages = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(messages) from exc
        verb = "Created" if created else "Already exists:"
        self.stdout.write(f"{verb} {org.slug} ({org.name}, {org.timezone}, {org.currency})")
