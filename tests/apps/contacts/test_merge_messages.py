"""Merges as an admin reads them: which contact, by id, kept and which was absorbed."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from apps.contacts.models import Contact, ContactMerge
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def _two_sarahs(org):
    return [
        ContactFactory(org=org, first_name="Sarah", last_name="White", primary_email=email)
        for email in ("sarah@example.com", "s.white@example.com")
    ]


def test_admin_merge_and_unmerge_messages_name_each_contact_by_id(client, team_a):
    first, second = _two_sarahs(team_a.org)
    client.force_login(team_a.owner)

    response = client.post(
        reverse("admin:contacts_contact_changelist"),
        {"action": "merge_selected", "_selected_action": [first.pk, second.pk]},
    )
    merged = [str(m) for m in get_messages(response.wsgi_request)]
    winner_id = Contact.objects.get(merged_into=None, pk__in=[first.pk, second.pk]).pk
    loser_id = ({first.pk, second.pk} - {winner_id}).pop()
    assert merged == [
        f"Kept Sarah White (#{winner_id}); merged into it: Sarah White (#{loser_id})."
    ]

    listing = client.get(reverse("admin:contacts_contact_changelist"), {"merged": "away"})
    assert f"#{winner_id}</a>" in listing.content.decode()
    site = client.get(reverse("contacts:list")).content.decode()
    assert f"#{winner_id}, merged from 1 other" in site

    record = ContactMerge.objects.get(loser_id=loser_id)
    response = client.post(
        reverse("admin:contacts_contactmerge_changelist"),
        {"action": "unmerge_selected", "_selected_action": [record.pk]},
    )
    unmerged = [str(m) for m in get_messages(response.wsgi_request)]
    assert unmerged == [
        f"Unmerged: Sarah White (#{loser_id}) is its own contact again, apart from "
        f"Sarah White (#{winner_id})."
    ]
