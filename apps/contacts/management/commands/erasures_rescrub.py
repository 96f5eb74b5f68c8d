"""Erases again, as today's erasure would, the people erased before it did more.

    python manage.py erasures_rescrub [--org SLUG]

People erased before suppression kept their provider ids in clear (source records, Calendly
invitees, Close opportunities and calls) and their bookings' event URIs: this hashes and blanks
those, and erases any delivery that still carries them. Their identifiers were deleted at the
time, so they cannot be suppressed now: a new object about them is a new contact, to be erased
again. Idempotent; prints counts, never values.
"""

from django.core.management.base import BaseCommand

from apps.contacts.models import Contact
from apps.contacts.privacy import erased_contacts_scrub
from apps.orgs.models import Organization


class Command(BaseCommand):
    help = "Erases again, with today's rules, every person erased before."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="only this org (slug)")

    def handle(self, *args, org=None, **options):
        orgs = Organization.objects.filter(slug=org) if org else Organization.objects.all()
        for each in orgs.order_by("pk"):
            ids = list(
                Contact.objects.for_org(each)
                .filter(erased_at__isnull=False)
                .values_list("pk", flat=True)
            )
            if ids:
                counts = erased_contacts_scrub(org=each, contact_ids=ids)
                self.stdout.write(f"{each.slug}: {len(ids)} erased people, {counts}")
