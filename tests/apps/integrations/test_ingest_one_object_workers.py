"""One provider object, one contact (issue 27) when a sync's pages are applied by page workers:
a form response listed on two pages that two workers apply at once, by a person who gave
nothing the resolver matches on, stays one person."""

from __future__ import annotations

import copy

import pytest

from apps.contacts.models import Contact, SourceRecord
from apps.integrations.models import SyncRun
from tests.apps.integrations.test_sync_page_workers import (  # noqa: F401 (fixture)
    new_org,
    response,
    typeform_sync,
    workers,
)

pytestmark = pytest.mark.django_db(transaction=True)


def anonymous(item: dict) -> dict:
    """The response with a placeholder email and nothing else about the person."""
    item = copy.deepcopy(item)
    item["answers"] = [a for a in item["answers"] if a["field"]["ref"] == "email"]
    item["answers"][0]["email"] = "test@test.com"
    return item


def test_a_response_on_two_pages_applied_side_by_side_is_one_contact(workers):  # noqa: F811
    answers = [anonymous(response(i, token=f"tok-{i:03d}")) for i in range(10)]
    # Listed twice, ending page 1 and starting page 2, which the two workers apply at once.
    answers.insert(4, copy.deepcopy(answers[3]))
    org = new_org("anonymous-pages")

    run = typeform_sync(org, answers)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.progress["page_workers"]["count"] == 2
    assert Contact.objects.for_org(org).count() == 10
    # Every contact is a response's: none was left behind by the second sighting.
    assert set(Contact.objects.for_org(org).values_list("pk", flat=True)) == set(
        SourceRecord.objects.for_org(org).values_list("contact_id", flat=True)
    )
