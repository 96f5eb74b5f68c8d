"""manage.py create_api_key ORG --workspace NAME --scopes read,update,convert

Creates the workspace when it does not exist yet (its permissions: the scopes given) and prints
the new key alone on the last line, for scripts: ``KEY=$(manage.py create_api_key ... | tail -1)``.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.api.models import Workspace
from apps.api.services import api_key_create, workspace_create
from apps.orgs.models import Organization


class Command(BaseCommand):
    help = "Create an API key for a workspace of an organisation; prints the key last."

    def add_arguments(self, parser):
        parser.add_argument("org", help="The organisation's slug.")
        parser.add_argument("--workspace", required=True, help="The workspace's name or slug.")
        parser.add_argument("--scopes", default="read", help="Comma-separated: read,update,convert")
        parser.add_argument("--name", default="", help="What the key is for.")
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args, **options):
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"No organisation with slug {options['org']!r}.")
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        days = options["expires_in_days"]
        name = options["workspace"]
        try:
            with transaction.atomic():
                workspace = Workspace.objects.for_org(org).filter(slug=slugify(name)).first()
                if workspace is None:
                    workspace = workspace_create(org=org, name=name, permissions=scopes, actor=None)
                    self.stdout.write(f"Created workspace {workspace.slug} ({', '.join(scopes)}).")
                key, raw = api_key_create(
                    org=org,
                    workspace=workspace,
                    scopes=scopes,
                    name=options["name"],
                    expires_at=timezone.now() + timedelta(days=days) if days else None,
                    actor=None,
                )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"Key atk_{key.prefix}_… for {workspace.name}: {', '.join(key.scopes)}.")
        self.stdout.write(raw)
