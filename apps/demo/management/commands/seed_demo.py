"""A demo organisation with six months of activity, for `make run` and for trying things out.

Everything a provider would send comes in as that provider's webhook body through the inbox and
the real parsers and services (apps/demo/payloads.py): leads as Typeform responses, calls as
Calendly bookings, cancellations and no-show marks, sales as the closers' post-call forms and
Stripe payments, a CRM call as a Close activity. The demo has no rule of its own.
"""

import random
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from apps.api.demo import seed_api_demo
from apps.contacts.models import BlockedIdentifier, Contact, SourceRecord
from apps.contacts.privacy import contact_erase
from apps.contacts.services import contact_merge, contact_resolve
from apps.demo import payloads
from apps.demo.payloads import deliver
from apps.forecast.demo import seed_forecast_demo
from apps.integrations.models import SyncCursor, SyncRun
from apps.integrations.services import credential_set
from apps.kpis.demo import demo_team_extras
from apps.kpis.models import AdSpend
from apps.kpis.services import rollup_rebuild
from apps.marketing.demo import seed_marketing_demo
from apps.meetings.models import (
    CallTypeRule,
    Meeting,
    PostCallFormConfig,
)
from apps.meetings.services import pcf_submit
from apps.notifications.demo import notifications_seed_demo
from apps.orgs.models import Invitation, Role, TeamMember, User
from apps.orgs.services import membership_set_role, organization_create
from apps.payments.models import CommissionRule, CurrencyRate, Payment, Refund
from apps.payments.services import payout_snapshot_create, refund_save_manual
from attribution.sources.records import ExternalId, PersonObservation

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
                seed_forecast_demo(org)  # after the rest: it learns from the demo's outcomes
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
    people = _people(org, rng, n_people, start)
    _journeys(org, rng, people, now, closers, setters)
    _duplicates(org, rng, people)
    demo_team_extras(org=org, rng=rng, closers=closers, setters=setters, now=now)
    # One lead asked to be forgotten: the admin shows a nameless contact and its suppressions.
    contact_erase(org=org, contact=people[-1].contact, actor=None)
    _ensure_refund(org)
    _integration_samples(org, now)
    _payout_sample(org, now)
    seed_api_demo(org=org, rng=rng, contacts=[person.contact for person in people[:-1]])
    notifications_seed_demo(org=org, now=now)
    seed_marketing_demo(org, rng=rng)
    # The services keep the rollups current; one rebuild makes the demo's cubes exact at once.
    rollup_rebuild(org=org)


def _ensure_refund(org):
    # A small demo can roll no refund at all; the ledger should always show one: an admin
    # records it, through the refund service the payments admin uses.
    if Refund.objects.for_org(org).exists():
        return
    payment = Payment.objects.for_org(org).order_by("paid_at").first()
    if payment is not None:
        refund_save_manual(
            refund=Refund(org=org, payment=payment, provider=payment.provider,
                          amount=payment.amount / 2, currency=payment.currency,
                          refunded_at=payment.paid_at + timedelta(days=10)),
            actor=None,
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


@dataclass
class _Person:
    first: str
    last: str
    email: str
    phone: str
    source: str
    campaign: str
    seen: object
    contact: Contact | None = None


def _people(org, rng, n_people, start) -> list[_Person]:
    """Leads fill in the application form: Typeform responses."""
    people, feed = [], payloads.Feed()
    for i in range(n_people):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        # Names keep their accents; an address is ASCII (a provider would refuse "zoë@...").
        local = unicodedata.normalize("NFKD", f"{first}.{last}{i}").encode("ascii", "ignore")
        email = f"{local.decode()}@{rng.choice(DOMAINS)}".lower().replace("'", "")
        source = rng.choice(list(SOURCES))
        person = _Person(first=first, last=last, email=email, phone=f"+1202555{i:04d}",
                         source=source, campaign=rng.choice(SOURCES[source]),
                         seen=start + timedelta(minutes=rng.randint(0, 181 * 24 * 60)))  # fmt: skip
        people.append(person)
        feed.add("typeform", person.seen, payloads.typeform_response(
            token=f"demo{i}", at=person.seen, first=first, last=last, email=email,
            phone=person.phone, source=source, campaign=person.campaign))  # fmt: skip
    feed.ingest(org)
    contacts = {
        record.external_id: record.contact
        for record in SourceRecord.objects.for_org(org)
        .filter(provider="typeform")
        .select_related("contact")
    }
    for i, person in enumerate(people):
        person.contact = contacts[f"demo{i}"]
    return people


@dataclass
class _Call:
    person: _Person
    host: TeamMember
    ext: str
    outcome: str  # scheduled | canceled | no_show | completed
    sale: dict | None = None


def _journeys(org, rng, people, now, closers, setters) -> list[_Call]:
    """Who books which calls and how each went; the bookings, cancellations and no-show marks
    go in as Calendly's webhook bodies, the rest as the hosts' post-call forms."""
    calls, feed = [], payloads.Feed()
    for i, person in enumerate(people):
        if rng.random() > 0.8:
            continue
        setter = rng.choice(setters)
        triage_at = person.seen + timedelta(days=rng.randint(1, 5), hours=rng.randint(0, 8))
        triage = _booking(
            feed, rng, person, "Discovery call", triage_at, now, setter, f"triage-{i}"
        )
        calls.append(triage)
        if triage.outcome != "completed" or rng.random() > 0.65:
            continue
        closer = rng.choice(closers)
        solution_at = triage_at + timedelta(days=rng.randint(1, 7))
        solution = _booking(
            feed, rng, person, "Strategy session", solution_at, now, closer, f"solution-{i}"
        )
        calls.append(solution)
        if solution.outcome == "completed":
            solution.sale = _sale(rng, i, solution_at)
    feed.ingest(org)
    meetings = {m.external_id: m for m in Meeting.objects.for_org(org)}
    stripe = payloads.Feed()
    for call in calls:
        if call.outcome != "completed":
            continue
        meeting = meetings[payloads.invitee_uri(call.ext)]
        sale = call.sale or {}
        pcf_submit(org=org, meeting=meeting, author=call.host, actor=None,
                   data={"call_occurred": True, "lead_showed": True, "custom": {},
                         **sale.get("pcf", {})})  # fmt: skip
        if sale.get("stripe"):
            _stripe_payment(stripe, org, call.person, meeting, sale["stripe"])
    stripe.ingest(org)
    return calls


def _booking(feed, rng, person, event_name, at, now, host, ext) -> _Call:
    fields = {"ext": ext, "at": at, "event_name": event_name, "host_email": host.email,
              "first": person.first, "last": person.last, "email": person.email,
              "phone": person.phone, "source": person.source, "campaign": person.campaign}  # fmt: skip
    booked_at = at - timedelta(days=1)
    feed.add("calendly", booked_at,
             payloads.calendly_invitee("invitee.created", sent_at=booked_at, **fields))  # fmt: skip
    outcome = "scheduled"
    if at < now:
        roll = rng.random()
        outcome = "canceled" if roll < 0.12 else "no_show" if roll < 0.27 else "completed"
    if outcome == "canceled":
        sent = at - timedelta(hours=5)
        feed.add("calendly", sent,
                 payloads.calendly_invitee("invitee.canceled", sent_at=sent, **fields))  # fmt: skip
    elif outcome == "no_show":
        marked = at + timedelta(hours=1)
        feed.add("calendly", marked,
                 payloads.calendly_invitee("invitee_no_show.created", sent_at=marked,
                                           no_show_at=marked, **fields))  # fmt: skip
    return _Call(person=person, host=host, ext=ext, outcome=outcome)


def _sale(rng, i, at) -> dict:
    """What the closer's PCF reports; a sale is paid by Stripe or in cash the PCF reports."""
    offer = rng.random() < 0.8
    closed = offer and rng.random() < 0.4
    value = Decimal(rng.choice([3000, 5000, 8000, 12000]))
    cash = value if rng.random() < 0.5 else value / 2
    by_stripe = closed and rng.random() < 0.6
    pcf = {"offer_made": offer, "deal_closed": closed, "contract_value": value if closed else 0,
           "cash_collected": cash if closed and not by_stripe else 0,
           "payment_type": ("paid_in_full" if cash == value else "deposit")
           if closed and not by_stripe else "",
           "outcome": "Closed" if closed else rng.choice(["Thinking it over", "No money", "Spouse"])}  # fmt: skip
    stripe = None
    if by_stripe:
        stripe = {"ref": f"demo{i}", "amount": cash, "refund": rng.random() < 0.1}
    return {"pcf": pcf, "stripe": stripe}


def _stripe_payment(feed, org, person, meeting, sale) -> None:
    paid_at = meeting.scheduled_at + timedelta(hours=2)
    feed.add("stripe", paid_at,
             payloads.stripe_payment_intent(ref=sale["ref"], amount=sale["amount"],
                                            currency=org.currency, at=paid_at, email=person.email))  # fmt: skip
    if sale["refund"]:
        at = paid_at + timedelta(days=10)
        feed.add("stripe", at,
                 payloads.stripe_charge_refunded(
                     ref=sale["ref"], amount=sale["amount"], refunded=sale["amount"] / 2,
                     currency=org.currency, paid_at=paid_at, at=at, email=person.email,
                     name=f"{person.first} {person.last}"))  # fmt: skip


def _duplicates(org, rng, people):
    """A few people come back through the CRM with a second address: the review queue has work,
    one pair an admin already merged shows what a merge history looks like, and their Close
    lead logs a call."""
    merged = False
    closers = list(TeamMember.objects.for_org(org).filter(is_closer=True).order_by("pk"))
    for n, person in enumerate(rng.sample(people, 8)):
        contact = person.contact
        lead_id = f"lead_demo{contact.pk}"
        observation = PersonObservation(
            source="close", observed_at=contact.first_seen_at + timedelta(days=2),
            emails=(f"{contact.first_name}.work@northwind.io".lower(),),
            phones=(contact.primary_phone,), first_name=contact.first_name,
            last_name=contact.last_name,
            provider_ids=(ExternalId("close_lead", lead_id),),
        )  # fmt: skip
        result = contact_resolve(org=org, observation=observation)
        if not merged and result.contact.pk != contact.pk:
            contact_merge(org=org, winner=contact, loser=result.contact, actor=None,
                          reason="demo: same person, work address")  # fmt: skip
            merged = True
        closer = closers[n % len(closers)]
        ref = f"demo{contact.pk}"
        deliver(org, "close", f"ev_call_{ref}", "activity.call.created",
                payloads.close_call(ref=ref, lead_id=lead_id, user_id=closer.external_ids["close"],
                                    user_name=closer.name,
                                    at=contact.first_seen_at + timedelta(days=3),
                                    phone=person.phone))  # fmt: skip


def _integration_samples(org, now):
    # A sync's cursor and run, so those admin pages have something to show (the inbox has the
    # demo's own deliveries).
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
