"""A demo organisation with six months of activity, for `make run` and for trying things out.

People come in through the same identity service as real data (so identifiers, merge candidates
and a merge exist to look at); the rest is written as the provider services would write it.
"""

import json
import random
from collections import Counter
from datetime import timedelta
from decimal import Decimal

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from apps.contacts.models import BlockedIdentifier, Contact, SourceRecord, Touchpoint
from apps.contacts.privacy import contact_erase
from apps.contacts.services import contact_merge, contact_resolve
from apps.deals.models import CallActivity, Deal
from apps.integrations.models import SyncCursor, SyncRun, WebhookEvent
from apps.integrations.services import credential_set
from apps.kpis.models import AdSpend
from apps.kpis.services import rollup_rebuild
from apps.marketing.demo import seed_marketing_demo
from apps.meetings.models import (
    CallType,
    CallTypeRule,
    Meeting,
    PostCallForm,
    PostCallFormConfig,
)
from apps.orgs.models import Invitation, Role, TeamMember, User
from apps.orgs.services import membership_set_role, organization_create
from apps.payments.models import CommissionRule, CurrencyRate, Payment, Refund
from apps.payments.services import payments_recredit_for_contact, payout_snapshot_create
from attribution.sources.records import ExternalId, PersonObservation, Utm

DEMO_SLUG = "demo"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - a published demo login on a local machine
# Owners and superusers must use two-factor authentication (apps/orgs/mfa.py), in the demo as in
# production: those demo logins get an authenticator with this published secret, printed below.
DEMO_TOTP_SECRET = "DEMOATTRIBUTIONMFATWOFACTORDEMOS"  # noqa: S105 - published, demo only
DEMO_MFA_LOGINS = ["owner@demo.example", "admin@demo.example"]
LOGINS = [
    ("owner@demo.example", Role.OWNER),
    ("manager@demo.example", Role.MANAGER),
    ("closer@demo.example", Role.CLOSER),
    ("setter@demo.example", Role.SETTER),
]
FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
         "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
         "Sarah", "Chris", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Sandra",
         "Mark", "Ashley", "José", "Zoë", "Siobhán", "Björn", "Aisha", "Wei", "Priya", "Omar"]  # fmt: skip
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Lopez",
        "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson",
        "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
        "Müller", "O'Brien", "Nguyen", "Patel", "Kowalski", "Fernández", "Okafor"]  # fmt: skip
DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "brightside.co", "northwind.io"]
SOURCES = {
    "facebook": ["spring-webinar", "vsl-cold", "retarget-30d"],
    "youtube": ["case-study", "long-form"],
    "google": ["brand", "high-intent"],
    "instagram": ["reels-q2"],
    "organic": [""],
}


class Command(BaseCommand):
    help = "Creates the demo organisation with a few hundred contacts, calls, deals and payments."

    def add_arguments(self, parser):
        parser.add_argument("--contacts", type=int, default=300)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, contacts, seed, **options):
        org, _ = organization_create(
            slug=DEMO_SLUG, name="Demo Coaching Co", timezone_name="America/New_York"
        )
        with transaction.atomic():
            for email, role in LOGINS:
                user = User.objects.filter(email=email).first()
                if user is None:
                    user = User.objects.create_user(email=email, password=DEMO_PASSWORD)
                membership_set_role(org=org, user=user, role=role, actor=None)
            if not User.objects.filter(email="admin@demo.example").exists():
                User.objects.create_superuser(email="admin@demo.example", password=DEMO_PASSWORD)
            for user in User.objects.filter(email__in=DEMO_MFA_LOGINS):
                if not Authenticator.objects.filter(
                    user=user, type=Authenticator.Type.TOTP
                ).exists():
                    TOTP.activate(user, DEMO_TOTP_SECRET)
            if Contact.objects.for_org(org).exists():
                self.stdout.write("Demo data already present.")
            else:
                _seed(org, random.Random(seed), contacts)
                self.stdout.write(f"Seeded {contacts} demo people.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo logins (password {DEMO_PASSWORD}): "
                + ", ".join(f"{email} ({role})" for email, role in LOGINS)
                + ", admin@demo.example (platform superuser)"
            )
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{' and '.join(DEMO_MFA_LOGINS)} use two-factor authentication: add the TOTP "
                f"secret {DEMO_TOTP_SECRET} to an authenticator app (or run "
                f"`oathtool --totp -b {DEMO_TOTP_SECRET}`) for the code asked after the password."
            )
        )


def _seed(org, rng: random.Random, n_people: int) -> None:
    closers = [
        TeamMember.objects.create(org=org, name=n, email=e, is_closer=True,
                                  external_ids={"close": f"user_{i}"})
        for i, (n, e) in enumerate([("Carla Closer", "closer@demo.example"),
                                    ("Ben Baker", "ben@demo.example"),
                                    ("Dana Diaz", "dana@demo.example")])
    ]  # fmt: skip
    setters = [
        TeamMember.objects.create(org=org, name=n, email=e, is_setter=True)
        for n, e in [("Sam Setter", "setter@demo.example"), ("Ravi Rao", "ravi@demo.example")]
    ]
    for member in (closers[0], setters[0]):
        member.user = User.objects.get(email=member.email)
        member.save(update_fields=["user"])
    for member in closers:
        CommissionRule.objects.create(org=org, team_member=member, role="closer", percent=10)
    for member in setters:
        CommissionRule.objects.create(
            org=org, team_member=member, role="setter", percent=Decimal(3)
        )
    for pattern, call_type in [("discovery", "triage"), ("strategy", "solution")]:
        CallTypeRule.objects.create(org=org, name_pattern=pattern, call_type=call_type)
    PostCallFormConfig.objects.create(
        org=org,
        outcomes=["Closed", "Follow-up booked", "Thinking it over", "No money", "Spouse"],
        custom_fields=[{"key": "objection", "label": "Main objection", "type": "select",
                        "required": False, "choices": ["price", "timing", "trust"]}],
    )  # fmt: skip
    BlockedIdentifier.objects.create(
        org=org, kind="phone", value="+12025550000", reason="front desk line"
    )
    CurrencyRate.objects.create(org=org, currency="EUR", rate=Decimal("1.08"))
    Invitation.objects.create(org=org, email="new.closer@demo.example", role=Role.CLOSER)
    for provider, name, value in [
        ("stripe", "api_key", "sk_test_demo_4eC39HqLyjWDarjtT1zdp7dc"),
        ("calendly", "signing_key", "demo-calendly-signing-key-9f2a"),
    ]:
        credential_set(org=org, provider=provider, name=name, value=value, actor=None)  # fmt: skip

    now = timezone.now()
    start = now - timedelta(days=182)
    _ad_spend(org, rng, start, now)
    people = []
    for i in range(n_people):
        person = _person(org, rng, i, start)
        people.append(person)
        _journey(org, rng, person, now, closers, setters, i)
    _duplicates(org, rng, people)
    # One lead asked to be forgotten: the admin shows a nameless contact and its suppressions.
    contact_erase(org=org, contact=people[-1], actor=None)
    _ensure_refund(org)
    _integration_samples(org, now)
    _payout_sample(org, now)
    seed_marketing_demo(org, rng=rng)
    # Signals keep rollups current row by row; one rebuild makes the demo's cubes exact.
    rollup_rebuild(org=org)


def _ensure_refund(org):
    # A small demo can roll no refund at all; the ledger should always show one.
    if Refund.objects.for_org(org).exists():
        return
    payment = Payment.objects.for_org(org).order_by("paid_at").first()
    if payment is not None:
        Refund.objects.create(
            org=org, payment=payment, provider=payment.provider,
            external_id=f"re_{payment.external_id}", payment_external_id=payment.external_id,
            amount=payment.amount / 2, currency=payment.currency,
            refunded_at=payment.paid_at + timedelta(days=10),
        )  # fmt: skip


def _ad_spend(org, rng, start, now):
    rows = []
    for source, campaigns in SOURCES.items():
        for campaign in campaigns if source != "organic" else []:
            day = start.date()
            while day <= now.date():
                rows.append(AdSpend(org=org, date=day, source=source, campaign=campaign,
                                    currency=org.currency, amount=Decimal(rng.randint(40, 260))))  # fmt: skip
                day += timedelta(days=1)
    AdSpend.objects.bulk_create(rows)


def _person(org, rng, i, start):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    email = f"{first}.{last}{i}@{rng.choice(DOMAINS)}".lower().replace("'", "")
    source = rng.choice(list(SOURCES))
    campaign = rng.choice(SOURCES[source])
    seen = start + timedelta(minutes=rng.randint(0, 181 * 24 * 60))
    observation = PersonObservation(
        source="typeform", observed_at=seen, emails=(email,), phones=(f"(202) 555-{i:04d}",),
        first_name=first, last_name=last, utm=Utm(source=source, campaign=campaign),
        provider_ids=(ExternalId("typeform_response", f"demo{i}"),),
    )  # fmt: skip
    contact = contact_resolve(org=org, observation=observation).contact
    record = SourceRecord.objects.create(
        org=org, provider="typeform", object_type="form_response", external_id=f"demo{i}",
        contact=contact, occurred_at=seen,
        payload={"hidden": {"utm_source": source, "utm_campaign": campaign}},
    )  # fmt: skip
    Touchpoint.objects.create(
        org=org, contact=contact, source_record=record, kind="form", occurred_at=seen,
        utm_source=source, utm_campaign=campaign,
    )  # fmt: skip
    return contact


def _journey(org, rng, contact, now, closers, setters, i):
    if rng.random() > 0.8:
        return
    setter = rng.choice(setters)
    triage_at = contact.first_seen_at + timedelta(days=rng.randint(1, 5), hours=rng.randint(0, 8))
    triage = _meeting(org, rng, contact, CallType.TRIAGE, triage_at, now, setter=setter,
                      host=setter, ext=f"triage-{i}")  # fmt: skip
    if triage.status != Meeting.Status.COMPLETED or rng.random() > 0.65:
        return
    closer = rng.choice(closers)
    solution_at = triage_at + timedelta(days=rng.randint(1, 7))
    solution = _meeting(org, rng, contact, CallType.SOLUTION, solution_at, now, setter=setter,
                        closer=closer, host=closer, ext=f"solution-{i}")  # fmt: skip
    if solution.status != Meeting.Status.COMPLETED:
        return
    CallActivity.objects.create(
        org=org, contact=contact, external_id=f"acti_demo{i}", user=closer, meeting=solution,
        occurred_at=solution_at, duration_seconds=rng.randint(900, 3600), direction="outbound",
        disposition="answered", outcome=CallActivity.Outcome.SHOWED,
    )  # fmt: skip
    offer = rng.random() < 0.8
    closed = offer and rng.random() < 0.4
    value = Decimal(rng.choice([3000, 5000, 8000, 12000]))
    cash = value if rng.random() < 0.5 else value / 2
    pcf = PostCallForm.objects.create(
        org=org, meeting=solution, author=closer, lead_showed=True, offer_made=offer,
        deal_closed=closed, contract_value=value if closed else 0,
        cash_collected=cash if closed else 0, currency=org.currency,
        payment_type=("paid_in_full" if cash == value else "deposit") if closed else "",
        outcome="Closed" if closed else rng.choice(["Thinking it over", "No money", "Spouse"]),
    )  # fmt: skip
    if not closed:
        return
    Deal.objects.create(
        org=org, contact=contact, provider="manual", status=Deal.Status.WON, value=value,
        currency=org.currency, closed_at=solution_at + timedelta(hours=1), closer=closer,
        setter=setter, meeting=solution, pcf=pcf,
    )  # fmt: skip
    payment = Payment.objects.create(
        org=org, contact=contact, provider="stripe", external_id=f"pi_demo{i}", amount=cash,
        currency=org.currency, paid_at=solution_at + timedelta(hours=2),
    )  # fmt: skip
    # Credit (deal, call, closer, setter) comes from the product's own rule, as for a real
    # Stripe payment, so the demo shows what the product would compute.
    payments_recredit_for_contact(org=org, contact_id=contact.pk)
    if rng.random() < 0.06:
        Refund.objects.create(
            org=org, payment=payment, provider="stripe", external_id=f"re_demo{i}",
            payment_external_id=payment.external_id, amount=cash / 2, currency=org.currency,
            refunded_at=payment.paid_at + timedelta(days=10),
        )  # fmt: skip


def _meeting(org, rng, contact, call_type, at, now, *, setter, host, ext, closer=None):
    status = Meeting.Status.SCHEDULED
    canceled_at = None
    if at < now:
        roll = rng.random()
        if roll < 0.12:
            status, canceled_at = Meeting.Status.CANCELED, at - timedelta(hours=5)
        elif roll < 0.27:
            status = Meeting.Status.NO_SHOW
        else:
            status = Meeting.Status.COMPLETED
    meeting = Meeting.objects.create(
        org=org, contact=contact, provider="calendly", call_type=call_type, status=status,
        external_id=f"https://api.calendly.com/scheduled_events/demo/invitees/{ext}",
        event_name="Discovery call" if call_type == CallType.TRIAGE else "Strategy session",
        scheduled_at=at, ends_at=at + timedelta(minutes=45), booked_at=at - timedelta(days=1),
        canceled_at=canceled_at, canceled_by="invitee" if canceled_at else "",
        showed=status in (Meeting.Status.COMPLETED, Meeting.Status.SCHEDULED),
        host=host, setter=setter, closer=closer,
        utm_source=contact.original_source, utm_campaign=contact.original_campaign,
    )  # fmt: skip
    if call_type == CallType.TRIAGE and status in (Meeting.Status.COMPLETED,
                                                   Meeting.Status.NO_SHOW):  # fmt: skip
        PostCallForm.objects.create(
            org=org, meeting=meeting, author=setter,
            lead_showed=status == Meeting.Status.COMPLETED,
            call_occurred=status == Meeting.Status.COMPLETED,
        )  # fmt: skip
    return meeting


def _duplicates(org, rng, people):
    """A few people come back through the CRM with a second address: the review queue has work,
    and one pair an admin already merged shows what a merge history looks like."""
    merged = False
    for contact in rng.sample(people, 8):
        observation = PersonObservation(
            source="close", observed_at=contact.first_seen_at + timedelta(days=2),
            emails=(f"{contact.first_name}.work@northwind.io".lower(),),
            phones=(contact.primary_phone,), first_name=contact.first_name,
            last_name=contact.last_name,
            provider_ids=(ExternalId("close_lead", f"lead_demo{contact.pk}"),),
        )  # fmt: skip
        result = contact_resolve(org=org, observation=observation)
        if not merged and result.contact.pk != contact.pk:
            contact_merge(org=org, winner=contact, loser=result.contact, actor=None,
                          reason="demo: same person, work address")  # fmt: skip
            merged = True


def _integration_samples(org, now):
    # Samples of what the integrations write, so every admin page has something to show.
    body = {"event": "invitee.created", "payload": {"email": "demo@example.com"}}
    WebhookEvent.objects.create(
        org=org, provider="calendly", event_id="demo-invitee-created", event_type="invitee.created",
        body=json.dumps(body).encode(), status=WebhookEvent.Status.PROCESSED, attempts=1,
        processed_at=now,
    )  # fmt: skip
    SyncCursor.objects.create(org=org, provider="close", resource="lead",
                              cursor={"date_updated__gte": now.isoformat()})  # fmt: skip
    SyncRun.objects.create(
        org=org, provider="close", status=SyncRun.Status.SUCCEEDED, finished_at=now,
        fetched=120, created=4, updated=9, unchanged=107,
    )  # fmt: skip


def _payout_sample(org, now):
    # The payouts page's own service, so the snapshot a newcomer opens is a real one; for the
    # past month with the most sales, since a small demo leaves some months without any.
    this_month = timezone.localdate(now, timezone=org.tzinfo).replace(day=1)
    months = Counter(
        timezone.localdate(paid_at, timezone=org.tzinfo).replace(day=1)
        for paid_at in Payment.objects.for_org(org).values_list("paid_at", flat=True)
    )
    months.pop(this_month, None)
    first = max(months, key=lambda m: (months[m], m)) if months else this_month
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    payout_snapshot_create(org=org, start=first, end=last, actor=None)
