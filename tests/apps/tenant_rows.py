"""One row of every tenant-owned model in a team's org, for the walks that try them all."""

import uuid
from decimal import Decimal

from django.db import models
from django.utils import timezone

from apps.api.models import Activity
from apps.api.services import (
    ConversionInput,
    api_key_create,
    conversion_record,
    workspace_create,
)
from apps.contacts.models import BlockedIdentifier, ContactMerge, Suppression
from apps.forecast.models import ForecastModel, Prediction
from apps.integrations.models import Credential, SyncCursor, SyncRun, WebhookEvent
from apps.kpis.models import DailyRollup, TrafficType
from apps.marketing.models import Campaign, CampaignDay, ChannelMapping, Journey, JourneyState
from apps.meetings.models import CallTypeRule, HostAvailabilityWeek, PostCallFormConfig
from apps.notifications.models import Channel, Delivery, NotificationSettings, Rep, RepSlackUser
from apps.orgs.models import AuditLog, Invitation, Membership
from apps.payments.models import CommissionRule, CurrencyRate, PayoutLine, PayoutSnapshot
from tests.factories import (
    AdSpendFactory,
    CallActivityFactory,
    ContactFactory,
    DealFactory,
    IdentifierFactory,
    MeetingFactory,
    MergeCandidateFactory,
    PaymentFactory,
    PostCallFormFactory,
    RefundFactory,
    SourceRecordFactory,
    TouchpointFactory,
)


def tenant_rows(team, marker: str) -> dict[str, models.Model]:
    """The people in it are named ``marker``, and every row a form can point at has a label
    (its str()) that no other org's row shares, so a walk can tell whose label a page shows."""
    org = team.org
    contact = ContactFactory(
        org=org,
        first_name=marker,
        last_name=marker,
        primary_email=f"{marker.lower()}@secret.example",
    )
    meeting = MeetingFactory(
        org=org, contact=contact, closer=team.other_closer_member, event_name=marker
    )
    # A payment's label is its amount, day and provider: the org's pk keeps the amount its own.
    amount = Decimal(f"{4000 + org.pk}.17")
    payment = PaymentFactory(
        org=org, contact=contact, closer=team.other_closer_member, amount=amount
    )
    deal = DealFactory(org=org, contact=contact, closer=team.other_closer_member)
    # A model version's label is its number, kind and day: the org's pk keeps the number its own.
    forecast = ForecastModel.objects.create(
        org=org, version=100 + org.pk, trained_at=timezone.now(), kind="fallback", params={}
    )
    snapshot = PayoutSnapshot.objects.create(
        org=org, period_start="2026-01-01", period_end="2026-01-31", currency="USD"
    )
    campaign = Campaign.objects.create(org=org, channel="meta", name=f"{org.slug}-campaign")
    workspace = workspace_create(
        org=org, name=f"{marker} {org.slug}", permissions=["read", "convert"], actor=None
    )
    api_key, _ = api_key_create(org=org, workspace=workspace, scopes=["read"], actor=None)
    conversion, _ = conversion_record(
        org=org,
        workspace=workspace,
        data=ConversionInput(contact_id=contact.pk, conversion_type="sale", conversion_value=1),
    )
    return {
        "workspace": workspace,
        "api_key": api_key,
        "conversion": conversion,
        "api_activity": Activity.objects.get(org=org, target_id=str(conversion.pk)),
        "campaign": campaign,
        "campaign_day": CampaignDay.objects.create(
            org=org, campaign=campaign, date="2026-01-01", spend=1
        ),
        "channel_mapping": ChannelMapping.objects.create(
            org=org, source=f"{org.slug}-src", channel="meta"
        ),
        "journey": Journey.objects.create(org=org, contact=contact, kind="contact"),
        "journey_state": JourneyState.objects.create(org=org),
        "contact": contact,
        "meeting": meeting,
        "pcf": PostCallFormFactory(meeting=meeting),
        "identifier": IdentifierFactory(contact=contact),
        "source_record": SourceRecordFactory(contact=contact, external_id=f"{marker}-record"),
        "touchpoint": TouchpointFactory(contact=contact),
        "candidate": MergeCandidateFactory(
            org=org, contact_a=contact, contact_b=ContactFactory(org=org)
        ),
        "deal": deal,
        "forecast_model": forecast,
        "prediction": Prediction.objects.create(
            org=org,
            model=forecast,
            deal=deal,
            probability=0.5,
            stage="deal_open",
            scored_at=timezone.now(),
        ),
        "activity": CallActivityFactory(org=org, contact=contact),
        "payment": payment,
        "refund": RefundFactory(payment=payment),
        "ad_spend": AdSpendFactory(org=org),
        "blocked": BlockedIdentifier.objects.create(org=org, kind="phone", value="+15550000000"),
        "suppression": Suppression.objects.create(
            org=org, kind="email", digest="0" * 64, person=uuid.uuid4(), contact=contact
        ),
        "merge": ContactMerge.objects.create(
            org=org, winner=contact, loser=ContactFactory(org=org)
        ),
        "rule": CallTypeRule.objects.create(org=org, name_pattern="strategy", call_type="solution"),
        "pcf_config": PostCallFormConfig.objects.create(org=org),
        "availability_week": HostAvailabilityWeek.objects.create(
            org=org,
            host=team.other_closer_member,
            week_start="2026-03-09",
            synced_at="2026-03-10T00:00Z",
        ),
        "credential": Credential.objects.create(
            org=org, provider="stripe", name="api_key", encrypted_value="x", hint="abcd"
        ),
        "webhook": WebhookEvent.objects.create(
            org=org, provider="stripe", event_id=f"evt_{org.slug}", body=b"{}"
        ),
        "cursor": SyncCursor.objects.create(org=org, provider="close", resource="lead"),
        "sync_run": SyncRun.objects.create(org=org, provider="close"),
        "rollup": DailyRollup.objects.create(org=org, date="2026-01-01"),
        "traffic_type": TrafficType.objects.create(org=org, name=f"{marker} paid", sources=["fb"]),
        "rate": CurrencyRate.objects.create(org=org, currency="EUR", rate="1.1"),
        "commission": CommissionRule.objects.create(
            org=org, team_member=team.closer_member, role="closer", percent=10
        ),
        "snapshot": snapshot,
        "payout_line": PayoutLine.objects.create(
            org=org, snapshot=snapshot, role="closer", net_amount=1, commission=1
        ),
        "invitation": Invitation.objects.create(org=org, email=f"invitee@{org.slug}.example"),
        "audit": AuditLog.objects.create(org=org, action="test"),
        "membership": Membership.objects.get(org=org, user=team.manager),
        "team_member": team.other_closer_member,
        "channel": (channel := Channel.objects.create(org=org, name=marker, type="email")),
        "delivery": Delivery.objects.create(org=org, kind="test", channel=channel),
        "notification_settings": NotificationSettings.objects.create(org=org),
        "slack_user": RepSlackUser.objects.create(
            org=org, team_member=team.other_closer_member, slack_user_id="U0MARKER"
        ),
        "rep": Rep.objects.get(pk=team.other_closer_member.pk),
        "user": team.manager,
        "org": org,
    }
