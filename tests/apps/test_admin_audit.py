"""What staff change in Django admin is in the org's audit log, field by field, before and after,
without a secret or the data of an erased person in it."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.contacts.privacy import contact_erase
from apps.deals.models import Deal
from apps.integrations.services import credential_set
from apps.orgs.models import AuditLog
from tests.apps.admin_forms import form_data
from tests.factories import ContactFactory, DealFactory, IdentifierFactory

pytestmark = pytest.mark.django_db


# Admin's date and time boxes hold whole seconds: a row saved there loses its microseconds, and
# the audit would rightly say so.
SECOND = timezone.now().replace(microsecond=0)


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _edit(client, obj, **changes):
    """Posts the row's change page back as a browser would, with ``changes`` typed in."""
    url = _url(type(obj), "change", obj.pk)
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, {**form_data(page), **changes})
    assert response.status_code == 302, response.context["adminform"].form.errors
    return response


def _entries(action, obj):
    return list(
        AuditLog.objects.filter(
            action=action, target_type=obj._meta.label_lower, target_id=str(obj.pk)
        )
    )


def test_a_change_in_admin_is_audited_with_each_changed_fields_before_and_after(client, team_a):
    deal = DealFactory(
        org=team_a.org, value=Decimal("1000.00"), status=Deal.Status.ACTIVE, closed_at=SECOND
    )
    client.force_login(team_a.owner)
    _edit(client, deal, value="1500.00", status=Deal.Status.WON, closer=team_a.closer_member.pk)
    (entry,) = _entries("admin.change", deal)
    assert entry.org == team_a.org and entry.actor == team_a.owner
    assert entry.data == {
        "changes": {
            "value": ["1000.00", "1500.00"],
            "status": ["active", "won"],
            "closer": [None, team_a.closer_member.pk],
        },
        "people": [deal.contact_id],  # whom the row is about, for a later erasure
    }


def test_saving_a_row_unchanged_writes_no_audit_row(client, team_a):
    deal = DealFactory(org=team_a.org, closed_at=SECOND)
    client.force_login(team_a.owner)
    _edit(client, deal)
    assert _entries("admin.change", deal) == []


def test_an_addition_and_a_deletion_are_audited_with_the_rows_values(client, team_a):
    client.force_login(team_a.owner)
    contact = ContactFactory(org=team_a.org)
    page = client.get(_url(Deal, "add"))
    response = client.post(
        _url(Deal, "add"),
        {**form_data(page), "contact": contact.pk, "value": "250.00", "currency": "EUR"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    deal = Deal.objects.get(org=team_a.org, contact=contact)
    (added,) = _entries("admin.add", deal)
    assert added.data["changes"]["value"] == [None, "250.00"]
    assert added.data["changes"]["currency"] == [None, "EUR"]
    assert added.data["changes"]["contact"] == [None, contact.pk]

    response = client.post(_url(Deal, "delete", deal.pk), {"post": "yes"})
    assert response.status_code == 302
    (deleted,) = _entries("admin.delete", deal)
    assert deleted.data["changes"]["value"] == ["250.00", None]
    assert deleted.actor == team_a.owner


def test_a_credential_changed_in_admin_is_audited_without_its_secret(client, team_a):
    old, new = "sk_live_old_secret_1111", "sk_live_new_secret_2222"
    credential = credential_set(
        org=team_a.org, provider="stripe", name="api_key", value=old, actor=None
    )
    stored_before = credential.encrypted_value
    client.force_login(team_a.owner)
    _edit(client, credential, value=new)
    credential.refresh_from_db()
    (entry,) = _entries("admin.change", credential)
    assert entry.data["changes"]["encrypted_value"] == ["[masked]", "[masked]"]
    assert entry.data["changes"]["hint"] == ["[masked]", "[masked]"]
    written = json.dumps([e.data for e in AuditLog.objects.all()])
    for secret in (old, new, old[-4:], new[-4:], stored_before, credential.encrypted_value):
        assert secret not in written


def test_an_erased_persons_data_typed_in_admin_is_not_in_the_audit_log(client, team_a):
    contact = ContactFactory(
        org=team_a.org, first_name="Erin", last_name="Cole", first_seen_at=SECOND
    )
    deal = DealFactory(org=team_a.org, contact=contact, status_label="", closed_at=SECOND)
    contact_erase(org=team_a.org, contact=contact, actor=team_a.owner)
    contact.refresh_from_db()
    client.force_login(team_a.owner)
    _edit(client, contact, first_name="Erin", company="Onefold Ltd")
    _edit(client, deal, status_label="Erin Cole, again", value="42.00")
    (on_contact,) = _entries("admin.change", contact)
    assert on_contact.data["changes"] == {
        "company": [None, "[masked]"],
        "first_name": [None, "[masked]"],
    }
    (on_deal,) = _entries("admin.change", deal)
    # Rows about the person keep their numbers; their text is masked.
    assert on_deal.data["changes"]["status_label"] == [None, "[masked]"]
    assert on_deal.data["changes"]["value"][1] == "42.00"
    written = json.dumps([e.data for e in AuditLog.objects.all()])
    assert "Erin" not in written and "Onefold" not in written


def test_an_edit_of_another_orgs_row_writes_nothing(client, team_a, team_b):
    deal = DealFactory(org=team_a.org)
    client.force_login(team_b.owner)
    response = client.post(_url(Deal, "change", deal.pk), {"value": "1.00"})
    assert response.status_code == 404
    assert not AuditLog.objects.filter(action__startswith="admin.").exists()


def test_erasing_a_person_masks_what_earlier_admin_edits_wrote_of_them(client, team_a):
    contact = ContactFactory(
        org=team_a.org, first_name="Erin", last_name="Cole", first_seen_at=SECOND
    )
    deal = DealFactory(org=team_a.org, contact=contact, status_label="", closed_at=SECOND)
    other = DealFactory(org=team_a.org, status_label="", closed_at=SECOND)
    client.force_login(team_a.owner)
    _edit(client, contact, last_name="Cole-Hart")
    _edit(client, deal, status_label="Erin wants a call", value="42.00")
    _edit(client, other, status_label="Someone else")
    (on_contact,) = _entries("admin.change", contact)
    assert on_contact.data["changes"] == {"last_name": ["Cole", "Cole-Hart"]}

    contact_erase(org=team_a.org, contact=contact, actor=team_a.owner)

    on_contact.refresh_from_db()
    assert on_contact.data["changes"] == {"last_name": ["[masked]", "[masked]"]}
    assert on_contact.actor == team_a.owner  # who changed what, and when, stays
    (on_deal,) = _entries("admin.change", deal)
    assert on_deal.data["changes"]["status_label"] == ["", "[masked]"]
    assert on_deal.data["changes"]["value"][1] == "42.00"
    (on_other,) = _entries("admin.change", other)
    assert on_other.data["changes"]["status_label"] == ["", "Someone else"]
    written = json.dumps([e.data for e in AuditLog.objects.all()])
    assert "Erin" not in written and "Cole" not in written


def test_rows_changed_and_deleted_in_an_inline_are_audited_like_the_pages_own(client, team_a):
    contact = ContactFactory(org=team_a.org, first_seen_at=SECOND)
    kept = IdentifierFactory(contact=contact, value="ann@onefold.io")
    dropped = IdentifierFactory(contact=contact, value="ann.lee@old.example")
    client.force_login(team_a.owner)
    url = _url(type(contact), "change", contact.pk)
    data = form_data(client.get(url))
    forms = {data[f"identifiers-{i}-id"][0]: i for i in range(2)}
    data[f"identifiers-{forms[str(kept.pk)]}-value"] = ["ann@twofold.io"]
    data[f"identifiers-{forms[str(dropped.pk)]}-DELETE"] = ["on"]
    response = client.post(url, data)
    assert response.status_code == 302, response.context["inline_admin_formsets"]
    (changed,) = _entries("admin.change", kept)
    assert changed.data["changes"]["value"] == ["ann@onefold.io", "ann@twofold.io"]
    assert changed.data["people"] == [contact.pk]
    (deleted,) = _entries("admin.delete", dropped)
    assert deleted.data["changes"]["value"] == ["ann.lee@old.example", None]
    assert _entries("admin.change", contact) == []  # the contact's own fields did not move
