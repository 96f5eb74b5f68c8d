"""The demo organisation's API side (called by seed_demo): two workspaces, their keys, and a few
dozen conversions logged through the same service as the API."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from apps.api.services import ConversionInput, api_key_create, conversion_record, workspace_create
from apps.orgs.models import Organization


def seed_api_demo(*, org: Organization, rng, contacts: list) -> None:
    now = timezone.now()
    partners = [
        workspace_create(org=org, name=name, permissions=scopes, actor=None)
        for name, scopes in (
            ("Partner Sales", ["read", "update", "convert"]),
            ("Call Centre", ["read", "convert"]),
        )
    ]
    for partner in partners:
        api_key_create(org=org, workspace=partner, scopes=partner.permissions, actor=None)
    for i, contact in enumerate(rng.sample(contacts, min(40, len(contacts)))):
        conversion_record(
            org=org,
            workspace=partners[i % 2],
            data=ConversionInput(
                contact_id=contact.pk,
                conversion_type=rng.choice(["sale", "upsell", "booking"]),
                conversion_value=Decimal(rng.choice([500, 1500, 3000, 5000])),
                converted_at=now - timedelta(days=rng.randint(0, 90), hours=rng.randint(0, 23)),
                converted_by=rng.choice(["Dana", "Lee", "Sam"]),
                external_id=f"demo-{i}",
            ),
        )
