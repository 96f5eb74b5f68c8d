import sys

from django.core.management.base import BaseCommand, CommandError

from apps.integrations.providers import CREDENTIAL_NAMES
from apps.integrations.services import CredentialError, credential_set
from apps.orgs.models import Organization

NAMES_HELP = "; ".join(f"{p}: {', '.join(n)}" for p, n in CREDENTIAL_NAMES.items())


class Command(BaseCommand):
    help = (
        "Stores one provider credential for an organisation, encrypted (FIELD_ENCRYPTION_KEY). "
        f"Names: {NAMES_HELP}. Pass VALUE as '-' to read it from standard input, which keeps it "
        "out of the shell history and the process list."
    )

    def add_arguments(self, parser):
        parser.add_argument("org_slug")
        parser.add_argument("provider", choices=sorted(CREDENTIAL_NAMES))
        parser.add_argument("name")
        parser.add_argument("value")

    def handle(self, org_slug, provider, name, value, **options):
        org = Organization.objects.filter(slug=org_slug).first()
        if org is None:
            raise CommandError(f"No organisation with the slug {org_slug!r}.")
        if value == "-":
            value = sys.stdin.readline()
        try:
            credential = credential_set(
                org=org, provider=provider, name=name, value=value, actor=None
            )
        except CredentialError as exc:
            raise CommandError(str(exc)) from exc
        # The value itself is never echoed, only its last characters.
        self.stdout.write(f"Saved {provider} {name} for {org.slug} ({credential.masked}).")
