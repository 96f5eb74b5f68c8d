"""Identifiers typed in admin are stored as the resolver writes them, or refused."""

import pytest
from django.urls import reverse

from apps.contacts.models import Contact, Identifier
from apps.contacts.services import contact_resolve
from tests.apps.contacts.helpers import person

pytestmark = pytest.mark.django_db


@pytest.fixture
def phone(team_a):
    contact_resolve(
        org=team_a.org,
        observation=person(
            email="ann.lee@onefold.io", phone="+14155550100", first="Ann", last="Lee"
        ),
    )
    return Identifier.objects.get(org=team_a.org, kind="phone")


def post(client, identifier, **changes):
    data = {
        "org": identifier.org_id,
        "contact": identifier.contact_id,
        "kind": identifier.kind,
        "value": identifier.value,
        "raw": identifier.raw,
        "source": identifier.source,
        **changes,
    }
    url = reverse("admin:contacts_identifier_change", args=[identifier.pk])
    return client.post(url, data)


def test_a_phone_typed_as_written_is_stored_in_e164_and_then_found(client, team_a, phone):
    client.force_login(team_a.owner)
    response = post(client, phone, value="(415) 555-0199")
    assert response.status_code == 302
    phone.refresh_from_db()
    assert phone.value == "+14155550199"
    # The resolver finds the contact by the number written any other way.
    again = contact_resolve(
        org=team_a.org, observation=person(phone="415.555.0199", first="Ann", last="Lee")
    )
    assert again.contact.pk == phone.contact_id and not again.created


def test_an_email_is_stored_lowercased(client, team_a, phone):
    email = Identifier.objects.get(org=team_a.org, kind="email")
    client.force_login(team_a.owner)
    assert post(client, email, value="  Ann.Lee@OneFold.IO ").status_code == 302
    email.refresh_from_db()
    assert email.value == "ann.lee@onefold.io"


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("phone", "call me maybe", "Not a valid phone number"),
        ("email", "ann at onefold", "Not an email address"),
    ],
)
def test_a_value_that_is_not_one_is_refused_and_nothing_changes(
    client, team_a, phone, kind, value, message
):
    client.force_login(team_a.owner)
    response = post(client, phone, kind=kind, value=value)
    assert response.status_code == 200
    assert message in response.content.decode()
    phone.refresh_from_db()
    assert (phone.kind, phone.value) == ("phone", "+14155550100")


def test_an_email_typed_in_admin_gets_its_mailbox_and_is_found_by_it(client, team_a, phone):
    email = Identifier.objects.get(org=team_a.org, kind="email")
    client.force_login(team_a.owner)
    assert post(client, email, value="Ann.Lee+Ads@Gmail.com").status_code == 302
    mailboxes = set(
        Identifier.objects.filter(contact=email.contact, kind="email_canonical").values_list(
            "value", flat=True
        )
    )
    assert "annlee@gmail.com" in mailboxes
    # Another spelling of the same mailbox, with a corroborating name, finds the contact.
    again = contact_resolve(
        org=team_a.org, observation=person(email="annlee@gmail.com", first="Ann", last="Lee")
    )
    assert again.contact.pk == email.contact_id and not again.created


def test_a_mailbox_another_contact_holds_becomes_shared_on_both(client, team_a, phone):
    other = contact_resolve(
        org=team_a.org, observation=person(email="a.nnlee@gmail.com", first="Bo", last="Ek")
    ).contact
    email = Identifier.objects.get(contact=phone.contact, kind="email")
    client.force_login(team_a.owner)
    url = reverse("admin:contacts_identifier_add")
    response = client.post(
        url,
        {"org": team_a.org.pk, "contact": email.contact_id, "kind": "email",
         "value": "annlee@gmail.com", "raw": "", "source": ""},
    )  # fmt: skip
    assert response.status_code == 302
    holders = Identifier.objects.filter(kind="email_canonical", value="annlee@gmail.com")
    assert {(i.contact_id, i.shared) for i in holders} == {
        (other.pk, True),
        (email.contact_id, True),
    }


def test_a_mailbox_is_never_typed_by_hand_and_nothing_changes(client, team_a, phone):
    client.force_login(team_a.owner)
    response = post(client, phone, kind="email_canonical", value="someone@gmail.com")
    assert response.status_code == 200
    assert "add or correct the email instead" in response.content.decode()
    phone.refresh_from_db()
    assert (phone.kind, phone.value) == ("phone", "+14155550100")
    # An existing mailbox row can still be saved as it is (its flags edited).
    mailbox = Identifier.objects.get(contact=phone.contact, kind="email_canonical")
    assert post(client, mailbox, shared="on").status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.shared


def test_a_corrected_email_leaves_no_mailbox_of_the_old_one(client, team_a, phone):
    email = Identifier.objects.get(org=team_a.org, kind="email")
    client.force_login(team_a.owner)
    assert post(client, email, value="ann@onefold.io").status_code == 302
    mailboxes = Identifier.objects.filter(contact=email.contact, kind="email_canonical")
    assert list(mailboxes.values_list("value", flat=True)) == ["ann@onefold.io"]


def _change_form_data(response) -> dict:
    """What the contact change page posts back untouched: the form and every inline."""
    form = response.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        for sub in formset.initial_forms:
            data[sub.add_prefix("id")] = sub.instance.pk
            for name, value in sub.initial.items():
                if value is not None and name in sub.fields:
                    data[sub.add_prefix(name)] = getattr(value, "pk", value)
    return data


def test_an_email_added_on_the_contact_page_gets_its_mailbox(client, team_a, phone):
    contact = phone.contact
    client.force_login(team_a.owner)
    url = reverse("admin:contacts_contact_change", args=[contact.pk])
    data = _change_form_data(client.get(url))
    data["org"] = team_a.org.pk
    total = int(data["identifiers-TOTAL_FORMS"])
    data.update(
        {
            "identifiers-TOTAL_FORMS": total + 1,
            f"identifiers-{total}-kind": "email",
            f"identifiers-{total}-value": "Ann.Lee+Work@Gmail.com",
            f"identifiers-{total}-source": "",
            f"identifiers-{total}-contact": contact.pk,
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302
    values = set(contact.identifiers.values_list("kind", "value"))
    assert ("email", "ann.lee+work@gmail.com") in values
    assert ("email_canonical", "annlee@gmail.com") in values
    assert ("email_canonical", "ann.lee@onefold.io") in values  # the first email's, kept


def test_the_migration_gives_every_email_its_mailbox_and_drops_stray_ones(team_a, team_b):
    """Rows stored before mailboxes followed emails: a missing mailbox (the old "a.+tag@"
    form) and one left by an edited email are put right; other orgs' rows are untouched."""
    import importlib

    from django.apps import apps as django_apps

    migration = importlib.import_module("apps.contacts.migrations.0007_mailboxes_follow_emails")
    ann = {"first": "Ann", "last": "Lee"}
    a = contact_resolve(
        org=team_a.org, observation=person(email="ann.+vip@onefold.io", **ann)
    ).contact
    b = contact_resolve(org=team_b.org, observation=person(email="bo@onefold.io")).contact
    Identifier.objects.filter(contact=a, kind="email_canonical").update(value="ann.@onefold.io")
    Identifier.objects.create(
        org=team_a.org, contact=a, kind="email_canonical", value="old@onefold.io"
    )
    before_b = set(b.identifiers.values_list("kind", "value", "shared"))

    migration.forwards(django_apps, None)

    assert set(a.identifiers.filter(kind="email_canonical").values_list("value", flat=True)) == {
        "ann@onefold.io"
    }
    assert set(b.identifiers.values_list("kind", "value", "shared")) == before_b
    again = contact_resolve(
        org=team_a.org, observation=person(email="ann+other@onefold.io", days=90, **ann)
    )
    assert again.contact.pk == a.pk  # found by the repaired mailbox


def test_a_row_added_in_an_inline_belongs_to_the_pages_org(client, team_a, phone):
    contact = phone.contact
    client.force_login(team_a.owner)
    url = reverse("admin:contacts_contact_change", args=[contact.pk])
    data = _change_form_data(client.get(url))
    total = int(data["identifiers-TOTAL_FORMS"])
    data.update(
        {
            "identifiers-TOTAL_FORMS": total + 1,
            f"identifiers-{total}-kind": "close_lead",
            f"identifiers-{total}-value": "lead_abc",
            f"identifiers-{total}-contact": contact.pk,
        }
    )
    assert client.post(url, data).status_code == 302
    assert Identifier.objects.get(kind="close_lead", value="lead_abc").org == team_a.org


def test_a_name_corrected_in_admin_finds_its_namesakes(client, team_a, phone):
    """Ann married: the admin corrects her surname, and her next form, from a new address but
    in the same campaign and week, reaches her by name."""
    contact = phone.contact
    Contact.objects.filter(pk=contact.pk).update(original_campaign="spring")
    client.force_login(team_a.owner)
    url = reverse("admin:contacts_contact_change", args=[contact.pk])
    data = _change_form_data(client.get(url))
    data.update(last_name="Okafor", first_seen_at_0="2026-03-01", first_seen_at_1="12:00:00")
    assert client.post(url, data).status_code == 302
    again = contact_resolve(
        org=team_a.org,
        observation=person(
            email="ann.okafor@gmail.com", first="Ann", last="Okafor", utm_campaign="spring", days=1
        ),
    )
    assert contact.pk in (again.contact.pk, *again.review_with)
