"""Factories that keep every related row inside one organisation."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from apps.contacts.models import Contact, Identifier, MergeCandidate, SourceRecord, Touchpoint
from apps.deals.models import CallActivity, Deal
from apps.kpis.models import AdSpend
from apps.meetings.models import CallType, Meeting, PostCallForm
from apps.orgs.models import Membership, Organization, Role, TeamMember, User
from apps.payments.models import Payment, Refund


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    org = factory.SubFactory(OrganizationFactory)
    role = Role.VIEWER


class TeamMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMember

    org = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Rep {n}")
    email = factory.Sequence(lambda n: f"rep{n}@example.com")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    org = factory.SubFactory(OrganizationFactory)
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")
    primary_email = factory.Sequence(lambda n: f"lead{n}@example.com")
    first_seen_at = factory.LazyFunction(timezone.now)


class IdentifierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identifier

    contact = factory.SubFactory(ContactFactory)
    org = factory.SelfAttribute("contact.org")
    kind = "email"
    value = factory.Sequence(lambda n: f"alias{n}@example.com")


class SourceRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SourceRecord

    contact = factory.SubFactory(ContactFactory)
    org = factory.SelfAttribute("contact.org")
    provider = "typeform"
    object_type = "form_response"
    external_id = factory.Sequence(lambda n: f"tok{n}")


class TouchpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Touchpoint

    contact = factory.SubFactory(ContactFactory)
    org = factory.SelfAttribute("contact.org")
    kind = "form"
    occurred_at = factory.LazyFunction(timezone.now)


class MeetingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meeting

    org = factory.SubFactory(OrganizationFactory)
    contact = factory.SubFactory(ContactFactory, org=factory.SelfAttribute("..org"))
    external_id = factory.Sequence(lambda n: f"https://api.calendly.com/invitees/{n}")
    call_type = CallType.SOLUTION
    scheduled_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))


class PostCallFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PostCallForm

    meeting = factory.SubFactory(MeetingFactory)
    org = factory.SelfAttribute("meeting.org")
    lead_showed = True


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deal

    org = factory.SubFactory(OrganizationFactory)
    contact = factory.SubFactory(ContactFactory, org=factory.SelfAttribute("..org"))
    status = Deal.Status.WON
    value = Decimal("1000.00")
    currency = "USD"
    closed_at = factory.LazyFunction(timezone.now)


class CallActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallActivity

    org = factory.SubFactory(OrganizationFactory)
    contact = factory.SubFactory(ContactFactory, org=factory.SelfAttribute("..org"))
    external_id = factory.Sequence(lambda n: f"acti_{n}")
    occurred_at = factory.LazyFunction(timezone.now)


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    org = factory.SubFactory(OrganizationFactory)
    contact = factory.SubFactory(ContactFactory, org=factory.SelfAttribute("..org"))
    provider = "stripe"
    external_id = factory.Sequence(lambda n: f"pi_{n}")
    amount = Decimal("500.00")
    currency = "USD"
    paid_at = factory.LazyFunction(timezone.now)


class RefundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Refund

    payment = factory.SubFactory(PaymentFactory)
    org = factory.SelfAttribute("payment.org")
    provider = "stripe"
    external_id = factory.Sequence(lambda n: f"re_{n}")
    amount = Decimal("100.00")
    currency = "USD"
    refunded_at = factory.LazyFunction(timezone.now)


class AdSpendFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdSpend

    org = factory.SubFactory(OrganizationFactory)
    date = factory.LazyFunction(lambda: timezone.now().date())
    source = "facebook"
    amount = Decimal("100.00")
    currency = "USD"


class MergeCandidateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MergeCandidate

    org = factory.SubFactory(OrganizationFactory)
    contact_a = factory.SubFactory(ContactFactory, org=factory.SelfAttribute("..org"))
    contact_b = factory.SubFactory(ContactFactory, org=factory.SelfAttribute("..org"))
