"""create_org and seed_demo, and the admin that shows every record type with demo rows."""

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.orgs.admin_base import OrgScopedAdmin
from apps.orgs.models import Membership, Organization, Role
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def test_create_org_is_idempotent_and_makes_the_owner(capsys):
    call_command(
        "create_org",
        "acme",
        "--name",
        "Acme",
        "--timezone",
        "Europe/London",
        "--currency",
        "gbp",
        "--owner-email",
        "Boss@Acme.example",
    )
    call_command("create_org", "acme", "--name", "Renamed", "--owner-email", "boss@acme.example")
    org = Organization.objects.get(slug="acme")
    assert (org.name, org.timezone, org.currency) == ("Acme", "Europe/London", "GBP")
    assert Membership.objects.get(org=org).role == Role.OWNER
    assert "Already exists: acme" in capsys.readouterr().out


def test_create_org_rejects_an_unknown_timezone_and_creates_nothing():
    with pytest.raises(CommandError, match="not a known IANA time zone"):
        call_command("create_org", "bad", "--name", "Bad", "--timezone", "Moon/Base")
    assert not Organization.objects.filter(slug="bad").exists()


@pytest.fixture
def demo(db):
    call_command("seed_demo", "--contacts", "60")
    return Organization.objects.get(slug="demo")


def test_seed_demo_is_idempotent_and_prints_the_login(demo, capsys):
    from apps.contacts.models import Contact

    before = Contact.objects.filter(org=demo).count()
    call_command("seed_demo")
    assert Contact.objects.filter(org=demo).count() == before
    assert "owner@demo.example" in capsys.readouterr().out


def test_the_printed_login_signs_in(client, demo, capsys):
    from apps.demo.management.commands.seed_demo import DEMO_PASSWORD, DEMO_TOTP_SECRET

    call_command("seed_demo")
    printed = capsys.readouterr().out
    assert DEMO_PASSWORD in printed and DEMO_TOTP_SECRET in printed
    response = sign_in(client, "owner@demo.example", DEMO_PASSWORD, secret=DEMO_TOTP_SECRET)
    assert response.status_code == 302
    assert client.get(reverse("kpis:dashboard")).status_code == 200
    # The owner's pages that need a second factor open too: the demo lets a newcomer in.
    assert client.get(reverse("integrations:page")).status_code == 200


def test_admin_lists_every_model_with_demo_rows(client, demo):
    from apps.orgs.models import User

    client.force_login(User.objects.get(email="admin@demo.example"))
    empty = []
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = client.get(url)
        assert response.status_code == 200, url
        if isinstance(model_admin, OrgScopedAdmin) and response.context["cl"].result_count == 0:
            empty.append(model._meta.label)
    assert empty == []
    # And each row opens.
    from apps.contacts.models import MergeCandidate

    candidate = MergeCandidate.objects.filter(org=demo).first()
    assert (
        client.get(reverse("admin:contacts_mergecandidate_change", args=[candidate.pk])).status_code
        == 200
    )


def test_demo_payments_are_credited_by_the_product_rule(demo):
    from apps.payments.models import CreditBasis, Payment

    credited = Payment.objects.filter(org=demo).exclude(closer=None, setter=None)
    assert credited.exists()
    assert not credited.filter(credit_basis=CreditBasis.NONE).exists()


def test_the_demo_payout_snapshot_reads_like_one_the_product_made(client, demo):
    from apps.orgs.models import User
    from apps.payments.models import PayoutSnapshot

    snapshot = PayoutSnapshot.objects.get(org=demo)
    lines = list(snapshot.lines.all())
    assert lines
    assert all(line.paid_at and line.member_name and line.currency for line in lines)
    client.force_login(User.objects.get(email="manager@demo.example"))
    html = client.get(reverse("payments:payout_detail", args=[snapshot.pk])).content.decode()
    assert "note" not in html
    assert f"<h2>{demo.currency}</h2>" in html
